// Netns: a network namespace (`ip netns add`), marked as its owner's by an
// altname on its loopback (see addNetns).
import { createHash } from "node:crypto";
import { z } from "zod";
import { hostLabel } from "./host.ts";
import { addNetns, deleteNetns, ipBatch, netnsMarks } from "./ip.ts";
import { dynamicProvider, madeBefore, MARKED_SINCE } from "./resource.ts";
import { adopt, hostSpec, identity, netnsName } from "./schema.ts";

export const netnsSchema = z
  .object({
    host: hostSpec.describe("The machine. Replaces."),
    name: netnsName.describe('Namespace name, e.g. "ns1". Replaces.'),
    adopt,
    ...identity,
  })
  .strict();

export type NetnsInputs = z.output<typeof netnsSchema>;

const MARK_PREFIX = "ool-ns-";

/** The loopback altname that marks a namespace as `owner`'s (an altname is at most 127 bytes). */
export function netnsMark(owner: string): string {
  return `${MARK_PREFIX}${createHash("sha256").update(owner).digest("hex").slice(0, 16)}`;
}

/**
 * Whether namespace `n`, bearing `marks` (undefined: absent), is this resource's: our mark, or
 * — made before namespaces were marked — it bears none.
 */
function ours(n: NetnsInputs, marks: string[] | undefined): boolean {
  if (marks === undefined) return false;
  if (marks.includes(netnsMark(n.owner))) return true;
  return madeBefore(n.providerVersion, MARKED_SINCE) && !marks.some((m) => m.startsWith(MARK_PREFIX));
}

export const netnsProvider = dynamicProvider<NetnsInputs, NetnsInputs>(
  {
    schema: netnsSchema,
    replaceOn: ["host", "name"],
    deleteBeforeReplace: true,
    idOf: (n) => n.name,
    async create(n) {
      const marks = await netnsMarks(n.host, n.name);
      if (marks === undefined) {
        await addNetns(n.host, n.name, netnsMark(n.owner));
      } else if (!marks.includes(netnsMark(n.owner))) {
        // Ours when it bears our mark (a create cut short after marking), or bears none and adopt is set.
        const there = `network namespace ${n.name} already exists on ${hostLabel(n.host)} and is not this resource's`;
        if (marks.some((m) => m.startsWith(MARK_PREFIX))) throw new Error(`${there}: another stack's (its loopback bears another ovs-offload-lab mark); remove it from that stack or choose another name`);
        if (!n.adopt) throw new Error(`${there}; delete it (ip netns del ${n.name}), choose another name, or set adopt: true to take it over`);
        await ipBatch(n.host, n.name, [`link property add dev lo altname ${netnsMark(n.owner)}`]);
      }
      return n;
    },
    async read(_id, props) {
      // One of the same name that is not ours is not this one: gone.
      return ours(props, await netnsMarks(props.host, props.name)) ? props : undefined;
    },
    async update(_id, olds, news) {
      // A namespace made before marks gets its mark now.
      const marks = await netnsMarks(news.host, news.name);
      if (ours(olds, marks) && !marks!.includes(netnsMark(news.owner))) {
        await ipBatch(news.host, news.name, [`link property add dev lo altname ${netnsMark(news.owner)}`]);
      }
      return news;
    },
    async delete(_id, props) {
      if (ours(props, await netnsMarks(props.host, props.name))) await deleteNetns(props.host, props.name);
    },
  },
);
