// ovs-ofctl: flows and meters. Flow changes go in one atomic OpenFlow bundle
// (OpenFlow 1.4) fed on stdin; meters need OpenFlow 1.3 and cannot be bundled.
// Output is parsed here and only here.

export const OFCTL_TIMEOUT_S = 20;

/** ovs-ofctl's answer when the bridge does not exist: whatever was on it is gone too. */
export function isNoSuchBridge(err: unknown): boolean {
  return err instanceof Error && "stderr" in err && /is not a bridge or a socket/.test(String((err as { stderr: unknown }).stderr));
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

export function dumpFlowsArgv(bridge: string, cookie?: string): string[] {
  return ofctl("OpenFlow14", ["--no-stats", "dump-flows", bridge, ...(cookie ? [`cookie=${cookieHex(cookie)}/-1`] : [])]);
}

/** Canonicalises flows with the host's own OVS, before anything is applied. */
export function parseFlowsArgv(): string[] {
  return ["ovs-ofctl", "-O", "OpenFlow14", "parse-flows", "-"];
}

function splitPriority(match: string): { priority: number; match: string } {
  const m = /^priority=(\d+)(?:,|$)(.*)$/.exec(match);
  return m ? { priority: Number(m[1]), match: m[2] } : { priority: DEFAULT_PRIORITY, match };
}

/** Splits "<head> actions=<actions>" where actions= starts a word. */
function splitActions(line: string): { head: string; actions: string } {
  const m = /^(.*?)(?:^|[ ,])actions=(.*)$/.exec(line);
  if (!m) throw new Error(`no actions in OVS output line: ${line}`);
  return { head: m[1].replace(/,$/, "").trim(), actions: m[2].trim() };
}

/** `ovs-ofctl --no-stats dump-flows` output. */
export function parseDumpFlows(stdout: string): InstalledFlow[] {
  const flows: InstalledFlow[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith(" ")) continue; // the reply header, e.g. "OFPST_FLOW reply (OF1.4)"
    const { head, actions } = splitActions(line.trim());
    let cookie = "0";
    let table = 0;
    let match = "";
    for (const item of head.split(", ")) {
      const [key, value] = item.split(/=(.*)/s);
      if (key === "cookie") cookie = BigInt(value).toString();
      else if (key === "table") table = Number(value);
      else if (!/^(duration|n_packets|n_bytes|idle_timeout|hard_timeout|idle_age|hard_age|importance|reset_counts|send_flow_rem|no_packet_counts|no_byte_counts|check_overlap)$/.test(key ?? "")) match = item;
    }
    flows.push({ cookie, table, ...splitPriority(match), actions });
  }
  return flows;
}

/** `ovs-ofctl parse-flows` output: one "… ADD [table:N] [match] [cookie:0x…] actions=…" line a flow. */
export function parseParsedFlows(stdout: string): InstalledFlow[] {
  const flows: InstalledFlow[] = [];
  for (const line of stdout.split("\n")) {
    const at = line.indexOf("): ADD ");
    if (at < 0) continue;
    const { head, actions } = splitActions(line.slice(at + "): ADD ".length));
    let cookie = "0";
    let table = 0;
    let match = "";
    for (const token of head.split(" ").filter(Boolean)) {
      if (token.startsWith("table:")) table = Number(token.slice(6));
      else if (token.startsWith("cookie:")) cookie = BigInt(token.slice(7)).toString();
      else if (!/^[a-z_]+:/.test(token)) match = token;
    }
    flows.push({ cookie, table, ...splitPriority(match), actions });
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
