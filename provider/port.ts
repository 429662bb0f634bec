// Port: an OVS port and its interface (`ovs-vsctl add-port … -- set Interface …`).
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { exec, hostLabel, type HostSpec } from "./host.ts";
import { lazyProvider } from "./loader.ts";
import { asMap, findClause, managedKeys, mapSettings, mapUpdate, optional, OWNER_KEY, parseFinds, vsctl, type Clause } from "./ovs/vsctl.ts";
import { dynamicProvider, ownedElsewhere, ownerOf, PROVIDER_VERSION, TYPE_MODULE, type Identity } from "./resource.ts";
import { externalIds, hostSpec, identity, ifName, stringMap } from "./schema.ts";

export const PORT_TYPES = ["internal", "gre", "vxlan", "geneve", "system", "tap", "dpdk", "dpdkvhostuser", "dpdkvhostuserclient"] as const;
export type PortType = (typeof PORT_TYPES)[number];

export interface PortArgs {
  /** Where the bridge lives. Replaces. */
  host: pulumi.Input<HostSpec>;
  /** The bridge the port is on. Replaces. */
  bridge: pulumi.Input<string>;
  /** Port and interface name (<= 15 bytes), e.g. "gre", "internal1", the representor "sdn_v0.0", "vnet1". Replaces. */
  name: pulumi.Input<string>;
  /** Interface type; "system" is an existing netdev (a VF representor, a tap made elsewhere). Default "system". Replaces. OVS: Interface.type. */
  type?: pulumi.Input<PortType>;
  /** Interface options, e.g. {remote_ip: "flow", key: "flow"} for a GRE port. In place. OVS: Interface.options. */
  options?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** The OpenFlow port number asked for (1-65279), e.g. 7. In place. OVS: Interface.ofport_request. */
  ofportRequest?: pulumi.Input<number>;
  /** MTU asked for (68-65535). In place. OVS: Interface.mtu_request. */
  mtuRequest?: pulumi.Input<number>;
  /** Keys of Interface.external_ids this resource manages, e.g. {virtio_relay: "1"}. In place. */
  externalIds?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface PortInputs extends Identity {
  host: HostSpec;
  bridge: string;
  name: string;
  type: PortType;
  options: Record<string, string>;
  ofportRequest?: number;
  mtuRequest?: number;
  externalIds: Record<string, string>;
}

export interface PortOutputs extends PortInputs {
  /** The OpenFlow port number OVS assigned. */
  ofport: number;
}

export const portSchema = z
  .object({
    host: hostSpec,
    bridge: ifName,
    name: ifName,
    type: z.enum(PORT_TYPES).default("system"),
    options: stringMap.default({}),
    ofportRequest: z.number().int().min(1).max(65279).optional(),
    mtuRequest: z.number().int().min(68).max(65535).optional(),
    externalIds: externalIds.default({}),
    ...identity,
  })
  .strict();

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
    schema: portSchema as unknown as z.ZodType<PortInputs>,
    replaceOn: ["host", "bridge", "name", "type"],
    deleteBeforeReplace: true,
    idOf: (p) => `${p.bridge}/${p.name}`,
    async create(p) {
      const found = await readPort(p);
      if (found && found.owner !== p.owner) throw ownedElsewhere("port", p.name, hostLabel(p.host), found.owner);
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
  ["host", "bridge", "name", "type", "options", "ofportRequest", "mtuRequest", "externalIds", "owner", "providerVersion"],
);

/** An Open vSwitch port with its interface. */
export class Port extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly bridge: pulumi.Output<string>;
  /** The OpenFlow port number OVS assigned. */
  declare readonly ofport: pulumi.Output<number>;

  constructor(name: string, args: PortArgs, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("Port"), name, { ...args, ofport: undefined, owner: ownerOf("Port", name), providerVersion: PROVIDER_VERSION }, opts, TYPE_MODULE, "Port");
  }
}
