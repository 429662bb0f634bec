// What `check` accepts as a flow's match and actions, before any host is
// asked: a strict token grammar (OVS's own parser has the last word when the
// flows are applied) plus the prerequisites OVS would otherwise silently
// drop or refuse.

const FIELD = /^[a-z_][a-z0-9_]*$/;
const VALUE = /^[A-Za-z0-9_.:/+\-[\]]+$/;
const ACTIONS = /^[A-Za-z0-9_.:/+\-=,()[\]>]+$/;

const FLAG = "it is a flow-mod flag (OVS sets it on the flow and matches as if it were not there); a FlowSet has no input for flags, remove it";
const TIMEOUT = "it is a flow-mod setting that would make OVS expire the flow; a FlowSet's flows are permanent, remove it";
const STATISTIC = "dump-flows prints it, and OVS ignores it when it reads a flow, so it matches nothing: remove it";
const IGNORED = "OVS's flow parser ignores it, so it matches nothing: remove it";
/**
 * The words OVS's flow parser (ofp-flow.c parse_ofp_str__) takes out of the
 * match part of a flow-mod line: each changes how the flow is installed, or
 * vanishes, instead of matching packets — the match would be wider than written.
 */
const NOT_IN_MATCH = new Map<string, string>([
  ["table", "use the flow's own table input"],
  ["priority", "use the flow's own priority input"],
  ["cookie", "the resource sets every flow's cookie itself (its owner mark)"],
  ["idle_timeout", TIMEOUT],
  ["hard_timeout", TIMEOUT],
  ["importance", "it is a flow-mod setting (which flow to evict first); a FlowSet has no input for it, remove it"],
  ["out_port", "it only selects flows to delete or dump and matches no packet (for the port packets come in on, use in_port)"],
  ["out_group", "it only selects flows to delete or dump and matches no packet, remove it"],
  ["send_flow_rem", FLAG],
  ["check_overlap", FLAG],
  ["reset_counts", FLAG],
  ["no_packet_counts", FLAG],
  ["no_byte_counts", FLAG],
  ["allow_hidden_fields", IGNORED],
  ["no_readonly_table", IGNORED],
  ["duration", STATISTIC],
  ["n_packets", STATISTIC],
  ["n_bytes", STATISTIC],
  ["idle_age", STATISTIC],
  ["hard_age", STATISTIC],
]);
/** OVS reads these by name alone (ofp_parse_protocol, and eth for packet_type) and drops any value: "tcp=80" matches all of TCP. */
const NO_VALUE = new Set(["ip", "ipv4", "ip4", "ipv6", "ip6", "arp", "rarp", "icmp", "icmp6", "tcp", "tcp6", "udp", "udp6", "sctp", "sctp6", "mpls", "mplsm", "eth"]);
const L3 = ["ip", "ipv6", "tcp", "tcp6", "udp", "udp6", "sctp", "sctp6", "icmp", "icmp6", "arp", "rarp"];
const L4 = ["tcp", "tcp6", "udp", "udp6", "sctp", "sctp6"];
const NEEDS_L3 = new Set(["nw_src", "nw_dst", "nw_proto", "nw_tos", "nw_ecn", "nw_ttl", "ip_src", "ip_dst", "ipv6_src", "ipv6_dst", "ct_nw_src", "ct_nw_dst"]);
const NEEDS_L4 = new Set(["tp_src", "tp_dst", "tcp_src", "tcp_dst", "udp_src", "udp_dst", "tcp_flags"]);

function items(match: string): [string, string | undefined][] {
  return match.split(",").map((item) => {
    const eq = item.indexOf("=");
    return eq < 0 ? [item, undefined] : [item.slice(0, eq), item.slice(eq + 1)];
  });
}

function fields(match: string): Map<string, string | undefined> {
  return new Map(items(match));
}

function hasAny(f: Map<string, string | undefined>, names: string[]): boolean {
  return names.some((n) => f.has(n));
}

/** Problems with a flow's match, as messages; empty when it is acceptable. */
export function matchProblems(match: string): string[] {
  if (match === "") return [];
  if (!/^[^\s,][^\s]*$/.test(match) || match.endsWith(",")) return ["must be comma-separated field[=value] items with no spaces"];
  // ofp_extract_actions: the actions start at the first "action" anywhere in the line.
  if (match.includes("action")) return ['must not contain "action": OVS starts a flow\'s actions at the first "action" in it, so the match would end there; actions go in the flow\'s own actions input'];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [name, value] of items(match)) {
    if (!FIELD.test(name)) problems.push(`${JSON.stringify(name)} is not a field name`);
    else if (NOT_IN_MATCH.has(name)) problems.push(`${name} is not part of a match: ${NOT_IN_MATCH.get(name)}`);
    else if (seen.has(name)) problems.push(`${name} is given twice: OVS keeps only the last`);
    else if (value !== undefined && NO_VALUE.has(name)) problems.push(`${name} takes no value: OVS ignores =${value} and matches every ${name} packet`);
    else if (value !== undefined && !VALUE.test(value)) problems.push(`the value of ${name} has characters OVS does not use in matches`);
    seen.add(name);
  }
  const f = fields(match);
  const l3 = hasAny(f, L3) || f.has("dl_type") || f.has("eth_type");
  const l4 = hasAny(f, L4) || f.has("nw_proto") || f.has("ip_proto");
  for (const name of f.keys()) {
    if (NEEDS_L3.has(name) && !l3) problems.push(`${name} needs an L3 protocol in the match (e.g. ip); without it OVS drops ${name}`);
    if (NEEDS_L4.has(name) && !l4) problems.push(`${name} needs an L4 protocol in the match (e.g. tcp or udp)`);
  }
  return problems;
}

/** Problems with a flow's actions, given its match; empty when acceptable. */
export function actionsProblems(actions: string, match: string): string[] {
  if (actions === "") return ["must not be empty (use drop to drop)"];
  if (!ACTIONS.test(actions)) return ["must be OVS actions without spaces, quotes or shell characters"];
  let depth = 0;
  for (const ch of actions) {
    depth += ch === "(" ? 1 : ch === ")" ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth !== 0) return ["has unbalanced parentheses"];
  const problems: string[] = [];
  const f = fields(match);
  if (/(^|,)ct\(/.test(actions) && !(hasAny(f, L3) || f.has("dl_type") || f.has("eth_type"))) {
    problems.push("ct(...) needs an IP protocol in the match (e.g. ip or tcp)");
  }
  return problems;
}

/** The meter ids a flow's actions use (meter:N). */
export function metersUsed(actions: string): number[] {
  return [...actions.matchAll(/(?:^|,)meter:(\d+)/g)].map((m) => Number(m[1]));
}
