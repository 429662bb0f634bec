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
  /** digest() of the flows as OVS printed them at the last apply (canonical form). */
  appliedDigest: string;
  /** The same of what is installed now (refresh updates it): a difference is drift, repaired by the next up. */
  installedDigest: string;
  /** How many flows with this resource's cookie are installed now. */
  installedCount: number;
}

const DIGEST_PREFIX = "sum:";
const DIGEST_MOD = 1n << 256n;

function flowHash(f: InstalledFlow): bigint {
  return BigInt(`0x${createHash("sha256").update(flowText(f)).digest("hex")}`);
}

/**
 * An order-free digest of flows that a change updates in O(changed flows):
 * the sum of each flow's sha256, modulo 2^256. `removed` and `added` change
 * a digest `from` instead of starting from none.
 */
export function digest(added: InstalledFlow[], removed: InstalledFlow[] = [], from = `${DIGEST_PREFIX}0`): string {
  let sum = BigInt(`0x${from.slice(DIGEST_PREFIX.length) || "0"}`);
  for (const f of added) sum += flowHash(f);
  for (const f of removed) sum -= flowHash(f);
  return `${DIGEST_PREFIX}${(((sum % DIGEST_MOD) + DIGEST_MOD) % DIGEST_MOD).toString(16).padStart(64, "0")}`;
}

/** The digest provider 0.2.0 and before wrote (sha256 of the sorted flows): refresh still compares state written then with it. */
function digestBefore030(flows: InstalledFlow[]): string {
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

type Spec = FlowSetInputs["flows"][number];

const sameSpec = (a: Spec, b: Spec | undefined): boolean => b !== undefined && a.table === b.table && a.priority === b.priority && a.match === b.match && a.actions === b.actions;

/**
 * What changed between two spec lists, as written: the old specs that are
 * gone or changed, and the new specs that are new or changed. Pure and cheap
 * for a large set: what the lists share at their start and end is compared
 * field by field, and only the rest is matched by table, priority and match.
 */
export function specChanges(olds: Spec[], news: Spec[]): { removed: Spec[]; added: Spec[] } {
  let start = 0;
  while (start < olds.length && start < news.length && sameSpec(olds[start], news[start])) start++;
  let [endOld, endNew] = [olds.length, news.length];
  while (endOld > start && endNew > start && sameSpec(olds[endOld - 1], news[endNew - 1])) [endOld, endNew] = [endOld - 1, endNew - 1];
  const [was, now] = [olds.slice(start, endOld), news.slice(start, endNew)];
  const [wasByKey, nowByKey] = [new Map(was.map((f) => [flowKey(f), f])), new Map(now.map((f) => [flowKey(f), f]))];
  return { removed: was.filter((f) => !sameSpec(f, nowByKey.get(flowKey(f)))), added: now.filter((f) => !sameSpec(f, wasByKey.get(flowKey(f)))) };
}

async function installed(s: FlowSetInputs): Promise<InstalledFlow[]> {
  return parseDumpFlows((await exec(s.host, dumpFlowsArgv(s.bridge, cookieFor(s.owner)))).stdout);
}

/** Every flow on the bridge, of every owner. */
async function bridgeFlows(s: FlowSetInputs): Promise<InstalledFlow[]> {
  return parseDumpFlows((await exec(s.host, dumpFlowsArgv(s.bridge), { timeoutMs: 300_000 })).stdout);
}

/** Canonical forms of flows, from the host's own OVS. */
async function canonical(s: FlowSetInputs, flows: Spec[]): Promise<InstalledFlow[]> {
  if (flows.length === 0) return [];
  const cookie = cookieFor(s.owner);
  const lines = flows.map((f) => flowModLine({ op: "add", flow: f }, cookie).slice("add ".length)).join("\n") + "\n";
  return parseParsedFlows((await exec(s.host, parseFlowsArgv(), { stdin: lines, timeoutMs: 300_000 })).stdout);
}

function refuseClashes(s: FlowSetInputs, clashes: InstalledFlow[]): void {
  if (!clashes.length) return;
  throw new Error(
    `bridge ${s.bridge} on ${hostLabel(s.host)} already has flows of another owner with the same table, priority and match: ` +
      `${clashes.slice(0, 3).map((f) => `cookie=${cookieHex(f.cookie)} ${flowText(f)}`).join("; ")}` +
      `${clashes.length > 3 ? ` (and ${clashes.length - 3} more)` : ""}; change the priority or match, or remove those flows`,
  );
}

async function applyMods(s: FlowSetInputs, mods: FlowMod[]): Promise<void> {
  if (mods.length) await exec(s.host, bundleArgv(s.bridge), { stdin: mods.map((m) => flowModLine(m, cookieFor(s.owner))).join("\n") + "\n", timeoutMs: 300_000 });
}

/**
 * Brings the bridge's flows with this resource's cookie to exactly `s.flows`,
 * in one bundle, whatever is installed now: three round trips (parse-flows,
 * one dump of the bridge, the bundle), each O(n).
 */
async function converge(s: FlowSetInputs): Promise<FlowSetOutputs> {
  const cookie = cookieFor(s.owner);
  const desired = await canonical(s, s.flows);
  const all = await bridgeFlows(s);
  refuseClashes(s, foreignClashes(desired, all, cookie));
  await applyMods(s, planFlowMods(desired, all.filter((f) => f.cookie === cookie)));
  // The bundle is all or nothing: the cookie's flows are now the desired ones, as parse-flows printed them (dump-flows prints the same).
  const applied = digest(desired);
  return { ...s, cookie, appliedDigest: applied, installedDigest: applied, installedCount: desired.length };
}

/** At most this many new flows are checked for clashes one dump each; more take one dump of the bridge. */
const CLASH_DUMPS_MAX = 8;

/** Flows of others with the keys of `added` (canonical), reading the bridge only where those keys are. */
async function clashesWith(s: FlowSetInputs, added: InstalledFlow[]): Promise<InstalledFlow[]> {
  const cookie = cookieFor(s.owner);
  if (added.length > CLASH_DUMPS_MAX) return foreignClashes(added, await bridgeFlows(s), cookie);
  const found = await Promise.all(added.map(async (f) => parseDumpFlows((await exec(s.host, dumpFlowsArgv(s.bridge, undefined, { match: `table=${f.table}${f.match ? `,${f.match}` : ""}` }))).stdout)));
  return foreignClashes(added, found.flat(), cookie);
}

/**
 * Changes the flows from `olds` to `news` by what changed between their specs:
 * k changed flows cost O(k) — one parse-flows of them, one bundle, and for
 * flows under a new table/priority/match a look for another owner's flow
 * there. Only from a state without drift; otherwise (or from a digest of
 * before 0.3.0) it converges.
 */
async function change(olds: FlowSetOutputs, news: FlowSetInputs): Promise<FlowSetOutputs> {
  if (olds.installedDigest !== olds.appliedDigest || !olds.appliedDigest.startsWith(DIGEST_PREFIX) || olds.cookie !== cookieFor(news.owner)) return converge(news);
  const { removed, added } = specChanges(olds.flows, news.flows);
  const both = await canonical(news, [...removed, ...added]);
  const [was, now] = [both.slice(0, removed.length), both.slice(removed.length)];
  const mods = planFlowMods(now, was);
  const wasKeys = new Set(was.map(flowKey));
  refuseClashes(news, await clashesWith(news, now.filter((f) => !wasKeys.has(flowKey(f)))));
  await applyMods(news, mods);
  const applied = digest(now, was, olds.appliedDigest);
  return { ...news, cookie: olds.cookie, appliedDigest: applied, installedDigest: applied, installedCount: news.flows.length };
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
      const installedDigest = digest(now);
      // State of before 0.3.0: when nothing drifted, both digests move to the new form.
      const applied = props.appliedDigest.startsWith(DIGEST_PREFIX) ? props.appliedDigest : props.appliedDigest === digestBefore030(now) ? installedDigest : props.appliedDigest;
      return { ...props, cookie: cookieFor(props.owner), appliedDigest: applied, installedDigest, installedCount: now.length };
    },
    async update(_id, olds, news) {
      return change(olds, news);
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
