// What `check` accepts as a flow's match and actions, before any host is
// asked: a strict token grammar (OVS's own parser has the last word when the
// flows are applied) plus the prerequisites OVS would otherwise silently
// drop or refuse.

const FIELD = /^[a-z_][a-z0-9_]*$/;
const VALUE = /^[A-Za-z0-9_.:/+\-[\]]+$/;
const ACTIONS = /^[A-Za-z0-9_.:/+\-=,()[\]>]+$/;
/** These are separate inputs of a flow, not part of its match. */
const NOT_IN_MATCH = new Set(["table", "priority", "cookie", "actions", "idle_timeout", "hard_timeout", "out_port", "out_group"]);
const L3 = ["ip", "ipv6", "tcp", "tcp6", "udp", "udp6", "sctp", "sctp6", "icmp", "icmp6", "arp", "rarp"];
const L4 = ["tcp", "tcp6", "udp", "udp6", "sctp", "sctp6"];
const NEEDS_L3 = new Set(["nw_src", "nw_dst", "nw_proto", "nw_tos", "nw_ecn", "nw_ttl", "ip_src", "ip_dst", "ipv6_src", "ipv6_dst", "ct_nw_src", "ct_nw_dst"]);
const NEEDS_L4 = new Set(["tp_src", "tp_dst", "tcp_src", "tcp_dst", "udp_src", "udp_dst", "tcp_flags"]);

function fields(match: string): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const item of match.split(",")) {
    const eq = item.indexOf("=");
    out.set(eq < 0 ? item : item.slice(0, eq), eq < 0 ? undefined : item.slice(eq + 1));
  }
  return out;
}

function hasAny(f: Map<string, string | undefined>, names: string[]): boolean {
  return names.some((n) => f.has(n));
}

/** Problems with a flow's match, as messages; empty when it is acceptable. */
export function matchProblems(match: string): string[] {
  if (match === "") return [];
  if (!/^[^\s,][^\s]*$/.test(match) || match.endsWith(",")) return ["must be comma-separated field[=value] items with no spaces"];
  const problems: string[] = [];
  const f = fields(match);
  for (const [name, value] of f) {
    if (!FIELD.test(name)) problems.push(`${JSON.stringify(name)} is not a field name`);
    else if (NOT_IN_MATCH.has(name)) problems.push(`${name} is not part of a match (use the flow's own ${name} input${name === "actions" ? "" : " where there is one"})`);
    else if (value !== undefined && !VALUE.test(value)) problems.push(`the value of ${name} has characters OVS does not use in matches`);
  }
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
