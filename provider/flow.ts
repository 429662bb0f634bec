// FlowSet and Flow: OpenFlow flows owned by one resource, marked with its
// cookie, applied in one atomic bundle. A Flow is a FlowSet of one.
import { createHash } from "node:crypto";
import { z } from "zod";
import { exec, hostLabel } from "./host.ts";
import {
  bundleArgv, cookieHex, DEFAULT_PRIORITY, isNoSuchBridge, dumpFlowsArgv, flowKey, flowModLine, flowText, ofctl, parseDumpFlows, parseFlowsArgv, parseParsedFlows,
  type FlowMod, type InstalledFlow,
} from "./ovs/ofctl.ts";
import { actionsProblems, matchProblems, metersUsed } from "./ovs/flow-syntax.ts";
import { cookieFor, dynamicProvider } from "./resource.ts";
import { hostSpec, identity, ifName } from "./schema.ts";

export const flowSpecSchema = z
  .object({
    table: z.number().int().min(0).max(254).default(0).describe("OpenFlow table, 0-254. Default 0."),
    priority: z.number().int().min(0).max(65535).default(DEFAULT_PRIORITY).describe("Priority, 0-65535. Default 32768 (OVS's)."),
    match: z.string().max(4096).default("").describe('The match, as ovs-ofctl writes it: "in_port=1,tun_id=1000,ip,nw_dst=198.51.100.1". Empty matches everything.'),
    actions: z.string().min(1, "must not be empty (use drop to drop)").max(8192).describe('The actions, as ovs-ofctl writes them: "meter:7,set_tunnel:1000,output:1", "ct(commit,zone=2,table=12)".'),
  })
  .strict()
  .superRefine((f, ctx) => {
    for (const message of matchProblems(f.match)) ctx.addIssue({ code: "custom", path: ["match"], message });
    for (const message of actionsProblems(f.actions, f.match)) ctx.addIssue({ code: "custom", path: ["actions"], message });
  });

export const flowSetSchema = z
  .object({
    host: hostSpec.describe("Where the bridge lives. Replaces."),
    bridge: ifName.describe("The bridge. Replaces."),
    flows: z.array(flowSpecSchema).min(1, "must hold at least one flow").describe("The flows, applied together in one OpenFlow bundle: all or none. Changes apply in place, also atomically."),
    meters: z
      .array(z.number().int().min(1).max(0xffff0000))
      .default([])
      .describe(
        "The ids of the Meters the actions use (pass `meter.meterId`), one for each meter:N. Deleting a meter deletes its flows in OVS, so when a Meter is replaced its flows are deleted before and installed again after.",
      ),
    ...identity,
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Map<string, number>();
    s.flows.forEach((f, i) => {
      const key = flowKey(f);
      if (seen.has(key)) ctx.addIssue({ code: "custom", path: ["flows", i], message: `same table, priority and match as flows[${seen.get(key)}]` });
      seen.set(key, i);
      for (const id of metersUsed(f.actions)) {
        if (!s.meters.includes(id)) {
          ctx.addIssue({ code: "custom", path: ["flows", i, "actions"], message: `uses meter:${id}, which is not in meters: pass that Meter's meterId so the flow is re-installed when the meter is replaced` });
        }
      }
    });
  });

export type FlowSetInputs = z.output<typeof flowSetSchema>;

export interface FlowSetOutputs extends FlowSetInputs {
  /** The OpenFlow cookie on every flow of this resource (decimal): cookieFor(owner), never an input. */
  cookie: string;
  /** sha256 of the flows as OVS printed them right after the last apply (canonical form). */
  appliedDigest: string;
  /** The same of what is installed now (refresh updates it): a difference is drift, repaired by the next up. */
  installedDigest: string;
  /** How many flows with this resource's cookie are installed now. */
  installedCount: number;
}

export function digest(flows: InstalledFlow[]): string {
  return createHash("sha256").update(flows.map(flowText).sort().join("\n")).digest("hex");
}

/**
 * The flow-mods that turn `current` (this cookie's flows) into `desired`
 * (canonical, from parse-flows): only what differs. Pure.
 */
export function planFlowMods(desired: InstalledFlow[], current: InstalledFlow[]): FlowMod[] {
  const have = new Map(current.map((f) => [flowKey(f), f]));
  const want = new Map(desired.map((f) => [flowKey(f), f]));
  const mods: FlowMod[] = [];
  for (const [key, f] of have) if (!want.has(key)) mods.push({ op: "delete_strict", flow: f });
  for (const [key, f] of want) {
    const now = have.get(key);
    if (!now) mods.push({ op: "add", flow: f });
    else if (now.actions !== f.actions) mods.push({ op: "modify_strict", flow: f });
  }
  return mods;
}

/** Flows of others that the desired flows would overwrite (same table, priority and match). */
export function foreignClashes(desired: InstalledFlow[], all: InstalledFlow[], cookie: string): InstalledFlow[] {
  const keys = new Set(desired.map(flowKey));
  return all.filter((f) => f.cookie !== cookie && keys.has(flowKey(f)));
}

async function installed(s: FlowSetInputs): Promise<InstalledFlow[]> {
  return parseDumpFlows((await exec(s.host, dumpFlowsArgv(s.bridge, cookieFor(s.owner)))).stdout);
}

/** Brings the bridge's flows with this resource's cookie to exactly `s.flows`, in one bundle. */
async function converge(s: FlowSetInputs): Promise<FlowSetOutputs> {
  const cookie = cookieFor(s.owner);
  const lines = s.flows.map((f) => flowModLine({ op: "add", flow: f }, cookie).slice("add ".length)).join("\n") + "\n";
  const desired = parseParsedFlows((await exec(s.host, parseFlowsArgv(), { stdin: lines })).stdout);
  const all = parseDumpFlows((await exec(s.host, dumpFlowsArgv(s.bridge))).stdout);
  const clashes = foreignClashes(desired, all, cookie);
  if (clashes.length) {
    throw new Error(
      `bridge ${s.bridge} on ${hostLabel(s.host)} already has flows of another owner with the same table, priority and match: ` +
        `${clashes.slice(0, 3).map((f) => `cookie=${cookieHex(f.cookie)} ${flowText(f)}`).join("; ")}` +
        `${clashes.length > 3 ? ` (and ${clashes.length - 3} more)` : ""}; change the priority or match, or remove those flows`,
    );
  }
  const mods = planFlowMods(desired, all.filter((f) => f.cookie === cookie));
  if (mods.length) {
    await exec(s.host, bundleArgv(s.bridge), { stdin: mods.map((m) => flowModLine(m, cookie)).join("\n") + "\n", timeoutMs: 300_000 });
  }
  const now = await installed(s);
  return { ...s, cookie, appliedDigest: digest(now), installedDigest: digest(now), installedCount: now.length };
}

export const flowSetProvider = dynamicProvider<FlowSetInputs, FlowSetOutputs>(
  {
    schema: flowSetSchema,
    // A replaced Meter shows up here as unknown meters: replace, so the flows
    // go before the meter is deleted and come back after it is made.
    replaceOn: ["host", "bridge", "meters"],
    deleteBeforeReplace: true,
    idOf: (s) => `${s.bridge}/cookie=${cookieHex(cookieFor(s.owner))}`,
    async create(s) {
      return converge(s);
    },
    async read(_id, props) {
      const now = await installed(props);
      if (now.length === 0) return undefined;
      return { ...props, cookie: cookieFor(props.owner), installedDigest: digest(now), installedCount: now.length };
    },
    async update(_id, _olds, news) {
      return converge(news);
    },
    async delete(_id, props) {
      try {
        await exec(props.host, ofctl("OpenFlow14", ["del-flows", props.bridge, `cookie=${cookieHex(cookieFor(props.owner))}/-1`]));
      } catch (err) {
        if (!isNoSuchBridge(err)) throw err;
      }
    },
    drift: (olds) => (olds.installedDigest !== olds.appliedDigest ? ["installedDigest"] : []),
  },
);
