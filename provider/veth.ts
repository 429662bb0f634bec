// Veth: a veth pair (`ip link add … type veth peer name …`). Each end gets an
// altname derived from the owner, so the pair is found (and deleted) in
// whatever namespace NetnsLink moved an end to.
import { createHash } from "node:crypto";
import { z } from "zod";
import { hostLabel } from "./host.ts";
import { ipBatch, ipExec, linkIn, whereIs } from "./ip.ts";
import { dynamicProvider } from "./resource.ts";
import { hostSpec, identity, ifName } from "./schema.ts";

export const vethSchema = z
  .object({
    host: hostSpec.describe("The machine. Replaces."),
    name: ifName.describe("One end's name (<= 15 bytes). Replaces."),
    peerName: ifName.describe("The other end's name. Replaces."),
    mtu: z.number().int().min(68).max(65535).optional().describe("MTU of both ends. Default: the kernel's (1500). Replaces."),
    ...identity,
  })
  .strict()
  .refine((v) => v.name !== v.peerName, { message: "must differ from name", path: ["peerName"] });

export type VethInputs = z.output<typeof vethSchema>;

/** The altname of one end: unique per owner and end, valid as an altname (< 128 bytes). */
export function vethAltname(owner: string, end: "a" | "b"): string {
  return `ool-veth-${createHash("sha256").update(owner).digest("hex").slice(0, 16)}-${end}`;
}

export const vethProvider = dynamicProvider<VethInputs, VethInputs>(
  {
    schema: vethSchema,
    replaceOn: ["host", "name", "peerName", "mtu"],
    deleteBeforeReplace: true,
    idOf: (v) => v.name,
    async create(v) {
      const alt = vethAltname(v.owner, "a");
      if ((await whereIs(v.host, alt)) === undefined) {
        for (const end of [v.name, v.peerName]) {
          if (await linkIn(v.host, undefined, end)) throw new Error(`link ${end} already exists on ${hostLabel(v.host)}; delete it or choose another name`);
        }
        await ipExec(v.host, undefined, ["link", "add", "name", v.name, ...(v.mtu ? ["mtu", String(v.mtu)] : []), "type", "veth", "peer", "name", v.peerName]);
        await ipBatch(v.host, undefined, [
          `link property add dev ${v.name} altname ${alt}`,
          `link property add dev ${v.peerName} altname ${vethAltname(v.owner, "b")}`,
          `link set dev ${v.name} up`,
          `link set dev ${v.peerName} up`,
        ]);
      }
      return v;
    },
    async read(_id, props) {
      return (await whereIs(props.host, vethAltname(props.owner, "a"))) === undefined ? undefined : props;
    },
    async update(_id, _olds, news) {
      return news;
    },
    async delete(_id, props) {
      const alt = vethAltname(props.owner, "a");
      const netns = await whereIs(props.host, alt);
      if (netns !== undefined) await ipExec(props.host, netns || undefined, ["link", "del", "dev", alt]);
    },
  },
);
