// ovs-ofctl: flows and meters. Flow changes go in one atomic OpenFlow bundle
// (OpenFlow 1.4) fed on stdin; meters need OpenFlow 1.3 and cannot be bundled.
// Output is parsed here and only here.
import { CommandError } from "../host.ts";

export const OFCTL_TIMEOUT_S = 20;

/** A delete's answer that the bridge (or the meter) is not there: whatever was on it is gone too. */
export function isNoSuchBridge(err: unknown): boolean {
  return err instanceof CommandError && err.kind === "not-found";
}

/** A flow as a resource describes it; table and priority default like OVS's. */
export interface FlowSpec {
  table: number;
  priority: number;
  match: string;
  actions: string;
}

export const DEFAULT_PRIORITY = 32768;

/** A flow as OVS prints it: the canonical form used to compare. */
export interface InstalledFlow {
  cookie: string;
  table: number;
  priority: number;
  match: string;
  actions: string;
}

export function ofctl(protocol: "OpenFlow13" | "OpenFlow14", args: string[]): string[] {
  return ["ovs-ofctl", `--timeout=${OFCTL_TIMEOUT_S}`, "-O", protocol, ...args];
}

export function cookieHex(cookie: string): string {
  return `0x${BigInt(cookie).toString(16)}`;
}

function matchPart(f: Pick<FlowSpec, "table" | "priority" | "match">): string {
  return [`table=${f.table}`, `priority=${f.priority}`, ...(f.match ? [f.match] : [])].join(",");
}

/** One line of an `add-flows` file: a flow-mod with this resource's cookie. */
export type FlowMod =
  | { op: "add"; flow: FlowSpec }
  | { op: "modify_strict"; flow: FlowSpec }
  | { op: "delete_strict"; flow: Pick<FlowSpec, "table" | "priority" | "match"> };

export function flowModLine(mod: FlowMod, cookie: string): string {
  const c = cookieHex(cookie);
  switch (mod.op) {
    case "add":
      return `add cookie=${c},${matchPart(mod.flow)} actions=${mod.flow.actions}`;
    case "modify_strict":
      // cookie/-1 selects only our flow; the flow keeps its cookie.
      return `modify_strict cookie=${c}/-1,${matchPart(mod.flow)} actions=${mod.flow.actions}`;
    case "delete_strict":
      return `delete_strict cookie=${c}/-1,${matchPart(mod.flow)}`;
  }
}

/** argv of one atomic bundle of flow-mods read from stdin. */
export function bundleArgv(bridge: string): string[] {
  return ofctl("OpenFlow14", ["--bundle", "add-flows", bridge, "-"]);
}

/**
 * The flows on `bridge` (only `cookie`'s, when given; only those `match`
 * selects, when given: a match without priority, which selects the flows it
 * equals or is more general than), with their counters when `stats`.
 */
export function dumpFlowsArgv(bridge: string, cookie?: string, options: { stats?: boolean; match?: string } = {}): string[] {
  const selector = [...(cookie ? [`cookie=${cookieHex(cookie)}/-1`] : []), ...(options.match ? [options.match] : [])].join(",");
  return ofctl("OpenFlow14", [...(options.stats ? [] : ["--no-stats"]), "dump-flows", bridge, ...(selector ? [selector] : [])]);
}

/** Canonicalises flows with the host's own OVS, before anything is applied. */
export function parseFlowsArgv(): string[] {
  return ["ovs-ofctl", "-O", "OpenFlow14", "parse-flows", "-"];
}

function splitPriority(match: string): { priority: number; match: string } {
  const m = /^priority=(\d+)(?:,|$)(.*)$/.exec(match);
  return m ? { priority: Number(m[1]), match: m[2] } : { priority: DEFAULT_PRIORITY, match };
}

/** Flow-mod flags as OVS prints them, each a bare word before the match (ofputil_flow_mod_flags_format). */
const FLAGS = ["send_flow_rem", "check_overlap", "reset_counts", "no_packet_counts", "no_byte_counts", "allow_hidden_fields", "no_readonly_table"];

/**
 * One item dump-flows prints before the match (ofputil_flow_stats_format):
 * "key=value, " or a flag and a space — no comma between the last flag and the match.
 */
const DUMP_ITEM = new RegExp(
  `^(?:(cookie|table)=(0x[0-9a-f]+|[0-9]+), |(?:duration|n_packets|n_bytes|idle_timeout|hard_timeout|importance|idle_age|hard_age)=[^ ,]+, |(?:${FLAGS.join("|")}) )`,
);

/** "<match> actions=<actions>" or "actions=<actions>"; the match has no spaces, so anything else is output this parser does not know. */
function matchAndActions(rest: string, line: string): { match: string; actions: string } {
  const m = /^(?:(\S+) )?actions=(.*)$/.exec(rest);
  if (!m) throw new Error(`unexpected OVS output line (the match cannot be told apart): ${line}`);
  return { match: m[1] ?? "", actions: m[2].trim() };
}

/** `ovs-ofctl dump-flows` output, with or without --no-stats. */
export function parseDumpFlows(stdout: string): InstalledFlow[] {
  const flows: InstalledFlow[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith(" ")) continue; // the reply header, e.g. "OFPST_FLOW reply (OF1.4)"
    let rest = line.trim();
    let cookie = "0";
    let table = 0;
    for (let m = DUMP_ITEM.exec(rest); m; rest = rest.slice(m[0].length), m = DUMP_ITEM.exec(rest)) {
      if (m[1] === "cookie") cookie = BigInt(m[2]).toString();
      else if (m[1] === "table") table = Number(m[2]);
    }
    const { match, actions } = matchAndActions(rest, line);
    flows.push({ cookie, table, ...splitPriority(match), actions });
  }
  return flows;
}

/**
 * `ovs-ofctl parse-flows` output: one "… ADD [table:N] [match] [cookie:0x…]
 * [idle:N …] [flags] actions=…" line a flow (ofputil_flow_mod_format).
 */
export function parseParsedFlows(stdout: string): InstalledFlow[] {
  const flows: InstalledFlow[] = [];
  for (const line of stdout.split("\n")) {
    const at = line.indexOf("): ADD ");
    if (at < 0) continue;
    const { head, actions } = /^(?<head>.*?) ?actions=(?<actions>.*)$/.exec(line.slice(at + "): ADD ".length))?.groups ?? {};
    if (head === undefined) throw new Error(`no actions in OVS output line: ${line}`);
    const tokens = head.split(" ").filter(Boolean);
    let cookie = "0";
    let table = 0;
    if (tokens[0]?.startsWith("table:")) table = Number(tokens.shift()!.slice(6));
    // The match comes first and is never "key:value" or a flag; all after it is.
    const match = tokens[0] !== undefined && !/^[a-z_]+:/.test(tokens[0]) && !FLAGS.includes(tokens[0]) ? tokens.shift()! : "";
    for (const token of tokens) {
      if (token.startsWith("cookie:")) cookie = BigInt(token.slice(7)).toString();
      else if (!/^[a-z_]+:/.test(token) && !FLAGS.includes(token)) throw new Error(`unexpected OVS output line (the match cannot be told apart): ${line}`);
    }
    flows.push({ cookie, table, ...splitPriority(match), actions: actions.trim() });
  }
  return flows;
}

/** Identity of a flow in OpenFlow: table, priority and match. */
export function flowKey(f: Pick<InstalledFlow, "table" | "priority" | "match">): string {
  return `table=${f.table},priority=${f.priority}${f.match ? `,${f.match}` : ""}`;
}

export function flowText(f: InstalledFlow): string {
  return `${flowKey(f)} actions=${f.actions}`;
}

// ---- meters ---------------------------------------------------------------

export interface MeterBand {
  type: "drop" | "dscp_remark";
  rate: number;
  burstSize?: number;
  precLevel?: number;
}

export interface MeterSpec {
  meterId: number;
  unit: "kbps" | "pktps";
  burst: boolean;
  stats: boolean;
  bands: MeterBand[];
}

export function meterText(m: MeterSpec): string {
  const flags = [m.unit, ...(m.burst ? ["burst"] : []), ...(m.stats ? ["stats"] : [])];
  const bands = m.bands.map((b) =>
    [`type=${b.type}`, `rate=${b.rate}`, ...(b.burstSize !== undefined ? [`burst_size=${b.burstSize}`] : []), ...(b.precLevel !== undefined ? [`prec_level=${b.precLevel}`] : [])].join(","),
  );
  return `meter=${m.meterId},${flags.join(",")},bands=${bands.join(",")}`;
}

export function meterArgv(command: "add-meter" | "mod-meter", bridge: string, m: MeterSpec): string[] {
  return ofctl("OpenFlow13", [command, bridge, meterText(m)]);
}

export function delMeterArgv(bridge: string, id: number): string[] {
  return ofctl("OpenFlow13", ["del-meter", bridge, `meter=${id}`]);
}

export function dumpMeterArgv(bridge: string, id: number): string[] {
  return ofctl("OpenFlow13", ["dump-meters", bridge, `meter=${id}`]);
}

/**
 * `ovs-ofctl dump-meters` output (one meter asked for). OVS answers a missing
 * meter with an OFPMMFC_UNKNOWN_METER error and exit status 0: undefined.
 */
export function parseDumpMeter(stdout: string): MeterSpec | undefined {
  if (stdout.includes("OFPMMFC_UNKNOWN_METER")) return undefined;
  const m = /^meter=(\d+) (.*?) ?bands=\n((?:type=.*\n?)*)/m.exec(stdout);
  if (!m) return undefined;
  const flags = m[2].split(" ");
  const bands = m[3]
    .split("\n")
    .filter(Boolean)
    .map((line): MeterBand => {
      const kv = Object.fromEntries(line.split(" ").map((p) => p.split("=") as [string, string]));
      return {
        type: kv.type as MeterBand["type"],
        rate: Number(kv.rate),
        ...(kv.burst_size !== undefined ? { burstSize: Number(kv.burst_size) } : {}),
        ...(kv.prec_level !== undefined ? { precLevel: Number(kv.prec_level) } : {}),
      };
    });
  return { meterId: Number(m[1]), unit: flags.includes("pktps") ? "pktps" : "kbps", burst: flags.includes("burst"), stats: flags.includes("stats"), bands };
}
