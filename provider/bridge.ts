// Bridge: an OVS bridge (`ovs-vsctl add-br`).
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { exec, hostLabel, type HostSpec } from "./host.ts";
import { lazyProvider } from "./loader.ts";
import { asList, asMap, findClause, managedKeys, mapSettings, mapUpdate, optional, OWNER_KEY, parseFinds, vsctl } from "./ovs/vsctl.ts";
import { dynamicProvider, ownedElsewhere, ownerOf, PROVIDER_VERSION, TYPE_MODULE, type Identity } from "./resource.ts";
import { externalIds, hostSpec, identity, ifName, stringMap } from "./schema.ts";

export interface BridgeArgs {
  /** Where the bridge lives. Changing it replaces the bridge. */
  host: pulumi.Input<HostSpec>;
  /** Bridge name (<= 15 bytes). Changing it replaces the bridge. OVS: Bridge.name. */
  name: pulumi.Input<string>;
  /** "system" (kernel) or "netdev" (userspace). Default "system"; the lab needs "netdev". Replaces. OVS: Bridge.datapath_type. */
  datapathType?: pulumi.Input<"system" | "netdev">;
  /** "standalone" or "secure" (no flows without a controller). Default: unset (OVS's standalone). In place. OVS: Bridge.fail_mode. */
  failMode?: pulumi.Input<"standalone" | "secure">;
  /** OpenFlow versions. Default OpenFlow10, 13 and 14 (meters need 1.3, bundles 1.4; both are kept). In place. OVS: Bridge.protocols. */
  protocols?: pulumi.Input<pulumi.Input<string>[]>;
  /** Keys of Bridge.other_config this resource manages. In place. */
  otherConfig?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Keys of Bridge.external_ids this resource manages (besides its owner key). In place. */
  externalIds?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface BridgeInputs extends Identity {
  host: HostSpec;
  name: string;
  datapathType: "system" | "netdev";
  failMode?: "standalone" | "secure";
  protocols: string[];
  otherConfig: Record<string, string>;
  externalIds: Record<string, string>;
}

export type BridgeOutputs = BridgeInputs;

const PROTOCOLS = ["OpenFlow10", "OpenFlow11", "OpenFlow12", "OpenFlow13", "OpenFlow14", "OpenFlow15"] as const;
const REQUIRED_PROTOCOLS = ["OpenFlow13", "OpenFlow14"];

export const bridgeSchema = z
  .object({
    host: hostSpec,
    name: ifName,
    datapathType: z.enum(["system", "netdev"]).default("system"),
    failMode: z.enum(["standalone", "secure"]).optional(),
    protocols: z
      .array(z.enum(PROTOCOLS))
      .default(["OpenFlow10", "OpenFlow13", "OpenFlow14"])
      .refine((p) => REQUIRED_PROTOCOLS.every((r) => p.includes(r as (typeof PROTOCOLS)[number])), "must include OpenFlow13 (meters) and OpenFlow14 (bundles)"),
    otherConfig: stringMap.default({}),
    externalIds: externalIds.default({}),
    ...identity,
  })
  .strict();

const COLUMNS = ["name", "datapath_type", "fail_mode", "protocols", "other_config", "external_ids"];

function settings(b: BridgeInputs): string[] {
  return [
    `datapath_type=${b.datapathType}`,
    `protocols=${b.protocols.join(",")}`,
    ...(b.failMode ? [`fail_mode=${b.failMode}`] : []),
    ...mapSettings("other_config", b.otherConfig),
    ...mapSettings("external_ids", { ...b.externalIds, [OWNER_KEY]: b.owner }),
  ];
}

export const createBridgeArgv = (b: BridgeInputs) => vsctl([["--may-exist", "add-br", b.name], ["set", "Bridge", b.name, ...settings(b)]]);

export function updateBridgeArgv(olds: BridgeInputs, news: BridgeInputs): string[] {
  return vsctl([
    ["set", "Bridge", news.name, `protocols=${news.protocols.join(",")}`],
    news.failMode ? ["set", "Bridge", news.name, `fail_mode=${news.failMode}`] : ["clear", "Bridge", news.name, "fail_mode"],
    ...mapUpdate("Bridge", news.name, "other_config", olds.otherConfig, news.otherConfig),
    ...mapUpdate("Bridge", news.name, "external_ids", olds.externalIds, { ...news.externalIds, [OWNER_KEY]: news.owner }),
  ]);
}

export const deleteBridgeArgv = (name: string) => vsctl([["--if-exists", "del-br", name]]);
export const readBridgeArgv = (name: string) => vsctl([findClause("Bridge", COLUMNS, `name=${name}`)], { json: true });

/** The bridge as OVS has it, limited to the map keys the resource manages; undefined if absent. */
async function readBridge(b: BridgeInputs): Promise<{ outs: BridgeOutputs; owner?: string } | undefined> {
  const [rows] = parseFinds((await exec(b.host, readBridgeArgv(b.name))).stdout);
  const row = rows[0];
  if (!row) return undefined;
  const externalIds = asMap(row.external_ids);
  return {
    owner: externalIds[OWNER_KEY],
    outs: {
      ...b,
      datapathType: (String(row.datapath_type) || "system") as BridgeInputs["datapathType"],
      failMode: optional<string>(row.fail_mode) as BridgeInputs["failMode"],
      protocols: asList(row.protocols),
      otherConfig: managedKeys(asMap(row.other_config), b.otherConfig),
      externalIds: managedKeys(externalIds, b.externalIds),
    },
  };
}

export const bridgeProvider = dynamicProvider<BridgeInputs, BridgeOutputs>(
  {
    schema: bridgeSchema as unknown as z.ZodType<BridgeInputs>,
    replaceOn: ["host", "name", "datapathType"],
    deleteBeforeReplace: true,
    idOf: (b) => b.name,
    async create(b) {
      const found = await readBridge(b);
      if (found && found.owner !== b.owner) throw ownedElsewhere("bridge", b.name, hostLabel(b.host), found.owner);
      await exec(b.host, createBridgeArgv(b));
      return b;
    },
    async read(_id, props) {
      // A bridge of the same name with another owner is not this one: gone.
      const now = await readBridge(props);
      return now?.owner === props.owner ? now.outs : undefined;
    },
    async update(_id, olds, news) {
      await exec(news.host, updateBridgeArgv(olds, news));
      return news;
    },
    async delete(_id, props) {
      // del-br takes the bridge's ports and flows with it: only ever our own bridge.
      if ((await readBridge(props))?.owner === props.owner) await exec(props.host, deleteBridgeArgv(props.name));
    },
  },
  ["host", "name", "datapathType", "failMode", "protocols", "otherConfig", "externalIds", "owner", "providerVersion"],
);

/** An Open vSwitch bridge. */
export class Bridge extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly datapathType: pulumi.Output<string>;
  declare readonly host: pulumi.Output<HostSpec>;

  constructor(name: string, args: BridgeArgs, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("Bridge"), name, { ...args, owner: ownerOf("Bridge", name), providerVersion: PROVIDER_VERSION }, opts, TYPE_MODULE, "Bridge");
  }
}
