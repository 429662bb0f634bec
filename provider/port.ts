// Port: an OVS port and its interface (`ovs-vsctl add-port … -- set Interface …`).
import { z } from "zod";
import { exec, hostLabel } from "./host.ts";
import { asMap, findClause, managedKeys, mapSettings, mapUpdate, optional, OWNER_KEY, parseFinds, vsctl, type Clause } from "./ovs/vsctl.ts";
import { claim, dynamicProvider } from "./resource.ts";
import { adopt, externalIds, hostSpec, identity, ifName, stringMap } from "./schema.ts";

export const PORT_TYPES = ["internal", "gre", "vxlan", "geneve", "system", "tap", "dpdk", "dpdkvhostuser", "dpdkvhostuserclient"] as const;
export type PortType = (typeof PORT_TYPES)[number];

export const portSchema = z
  .object({
    host: hostSpec.describe("Where the bridge lives. Replaces."),
    bridge: ifName.describe("The bridge the port is on. Replaces."),
    name: ifName.describe('Port and interface name (<= 15 bytes), e.g. "gre", "internal1", the representor "sdn_v0.0", "vnet1". Replaces.'),
    type: z.enum(PORT_TYPES).default("system").describe('Interface type; "system" is an existing netdev (a VF representor, a tap made elsewhere). Default "system". Replaces. OVS: Interface.type.'),
    options: stringMap.default({}).describe('Interface options, e.g. {remote_ip: "flow", key: "flow"} for a GRE port. In place. OVS: Interface.options.'),
    ofportRequest: z.number().int().min(1).max(65279).optional().describe("The OpenFlow port number asked for (1-65279), e.g. 7. In place. OVS: Interface.ofport_request."),
    mtuRequest: z.number().int().min(68).max(65535).optional().describe("MTU asked for (68-65535). In place. OVS: Interface.mtu_request."),
    externalIds: externalIds.default({}).describe('Keys of Interface.external_ids this resource manages, e.g. {virtio_relay: "1"}. In place.'),
    adopt,
    ...identity,
  })
  .strict();

export type PortInputs = z.output<typeof portSchema>;

export interface PortOutputs extends PortInputs {
  /** The OpenFlow port number OVS assigned. */
  ofport: number;
}

const INTERFACE_COLUMNS = ["name", "type", "options", "ofport", "ofport_request", "mtu_request", "external_ids", "error"];

export function createPortArgv(p: PortInputs): string[] {
  return vsctl([
    ["--may-exist", "add-port", p.bridge, p.name],
    [
      "set", "Interface", p.name, `type=${p.type}`,
      ...mapSettings("options", p.options),
      ...(p.ofportRequest !== undefined ? [`ofport_request=${p.ofportRequest}`] : []),
      ...(p.mtuRequest !== undefined ? [`mtu_request=${p.mtuRequest}`] : []),
      ...mapSettings("external_ids", p.externalIds),
    ],
    ["set", "Port", p.name, `external_ids:${OWNER_KEY}=${p.owner}`],
  ]);
}

function optionalColumn(name: string, column: string, value: number | undefined): Clause {
  return value !== undefined ? ["set", "Interface", name, `${column}=${value}`] : ["clear", "Interface", name, column];
}

export function updatePortArgv(olds: PortInputs, news: PortInputs): string[] {
  return vsctl([
    ...mapUpdate("Interface", news.name, "options", olds.options, news.options),
    optionalColumn(news.name, "ofport_request", news.ofportRequest),
    optionalColumn(news.name, "mtu_request", news.mtuRequest),
    ...mapUpdate("Interface", news.name, "external_ids", olds.externalIds, news.externalIds),
  ]);
}

export const deletePortArgv = (p: Pick<PortInputs, "bridge" | "name">) => vsctl([["--if-exists", "del-port", p.bridge, p.name]]);

export const readPortArgv = (p: Pick<PortInputs, "bridge" | "name">) =>
  vsctl(
    [
      findClause("Bridge", ["name", "ports"], `name=${p.bridge}`),
      findClause("Port", ["_uuid", "name", "external_ids"], `name=${p.name}`),
      findClause("Interface", INTERFACE_COLUMNS, `name=${p.name}`),
    ],
    { json: true },
  );

interface PortState {
  onBridge: boolean;
  owner?: string;
  ofport?: number;
  error?: string;
  outs: PortOutputs;
}

async function readPort(p: PortInputs): Promise<PortState | undefined> {
  const [bridges, ports, interfaces] = parseFinds((await exec(p.host, readPortArgv(p))).stdout);
  const port = ports[0];
  const iface = interfaces[0];
  if (!port || !iface) return undefined;
  const ofport = optional<number>(iface.ofport);
  return {
    onBridge: (bridges[0]?.ports as string[] | undefined)?.includes(String(port._uuid)) ?? false,
    owner: asMap(port.external_ids)[OWNER_KEY],
    ofport,
    error: optional<string>(iface.error),
    outs: {
      ...p,
      type: ((String(iface.type) || "system") as PortType),
      options: asMap(iface.options),
      ofportRequest: optional<number>(iface.ofport_request),
      mtuRequest: optional<number>(iface.mtu_request),
      externalIds: managedKeys(asMap(iface.external_ids), p.externalIds),
      ofport: ofport ?? -1,
    },
  };
}

export const portProvider = dynamicProvider<PortInputs, PortOutputs>(
  {
    schema: portSchema,
    replaceOn: ["host", "bridge", "name", "type"],
    deleteBeforeReplace: true,
    idOf: (p) => `${p.bridge}/${p.name}`,
    async create(p) {
      const found = await readPort(p);
      if (found) claim("port", p.name, hostLabel(p.host), found.owner, p);
      await exec(p.host, createPortArgv(p));
      const made = await readPort(p);
      if (!made || made.error || made.ofport === undefined || made.ofport < 0) {
        // OVS keeps a port whose interface failed; take it out again and say why.
        await exec(p.host, deletePortArgv(p));
        throw new Error(`port ${p.name} on bridge ${p.bridge} on ${hostLabel(p.host)}: OVS could not set up the interface: ${made?.error ?? "no OpenFlow port assigned"}`);
      }
      return made.outs;
    },
    async read(_id, props) {
      // A port of the same name with another owner is not this one: gone.
      const now = await readPort(props);
      return now?.onBridge && now.owner === props.owner ? now.outs : undefined;
    },
    async update(_id, olds, news) {
      await exec(news.host, updatePortArgv(olds, news));
      const now = await readPort(news);
      return { ...news, ofport: now?.ofport ?? -1 };
    },
    async delete(_id, props) {
      if ((await readPort(props))?.owner === props.owner) await exec(props.host, deletePortArgv(props));
    },
  },
);
