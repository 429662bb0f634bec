// Bridge: an OVS bridge (`ovs-vsctl add-br`).
import { z } from "zod";
import { exec, hostLabel } from "./host.ts";
import { asList, asMap, findClause, managedKeys, mapSettings, mapUpdate, optional, OWNER_KEY, parseFinds, vsctl } from "./ovs/vsctl.ts";
import { claim, dynamicProvider } from "./resource.ts";
import { adopt, externalIds, hostSpec, identity, ifName, stringMap } from "./schema.ts";

const PROTOCOLS = ["OpenFlow10", "OpenFlow11", "OpenFlow12", "OpenFlow13", "OpenFlow14", "OpenFlow15"] as const;
const REQUIRED_PROTOCOLS = ["OpenFlow13", "OpenFlow14"];

export const bridgeSchema = z
  .object({
    host: hostSpec.describe("Where the bridge lives. Changing it replaces the bridge."),
    name: ifName.describe("Bridge name (<= 15 bytes). Changing it replaces the bridge. OVS: Bridge.name."),
    datapathType: z.enum(["system", "netdev"]).default("system").describe('"system" (kernel) or "netdev" (userspace). Default "system"; the lab needs "netdev". Replaces. OVS: Bridge.datapath_type.'),
    failMode: z.enum(["standalone", "secure"]).optional().describe("\"standalone\" or \"secure\" (no flows without a controller). Default: unset (OVS's standalone). In place. OVS: Bridge.fail_mode."),
    protocols: z
      .array(z.enum(PROTOCOLS))
      .default(["OpenFlow10", "OpenFlow13", "OpenFlow14"])
      .refine((p) => REQUIRED_PROTOCOLS.every((r) => p.includes(r as (typeof PROTOCOLS)[number])), "must include OpenFlow13 (meters) and OpenFlow14 (bundles)")
      .describe("OpenFlow versions. Default OpenFlow10, 13 and 14 (meters need 1.3, bundles 1.4; both are kept). In place. OVS: Bridge.protocols."),
    otherConfig: stringMap.default({}).describe("Keys of Bridge.other_config this resource manages. In place."),
    externalIds: externalIds.default({}).describe("Keys of Bridge.external_ids this resource manages (besides its owner key). In place."),
    adopt,
    ...identity,
  })
  .strict();

export type BridgeInputs = z.output<typeof bridgeSchema>;
type BridgeOutputs = BridgeInputs;

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
      protocols: asList(row.protocols) as BridgeInputs["protocols"],
      otherConfig: managedKeys(asMap(row.other_config), b.otherConfig),
      externalIds: managedKeys(externalIds, b.externalIds),
    },
  };
}

export const bridgeProvider = dynamicProvider<BridgeInputs, BridgeOutputs>(
  {
    schema: bridgeSchema,
    replaceOn: ["host", "name", "datapathType"],
    deleteBeforeReplace: true,
    idOf: (b) => b.name,
    async create(b) {
      const found = await readBridge(b);
      if (found) claim("bridge", b.name, hostLabel(b.host), found.owner, b);
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
);
