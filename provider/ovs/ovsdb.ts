// `ovs-vsctl --format=json` output: {"headings": [...], "data": [[...], ...]},
// each cell in OVSDB's JSON encoding (["map", [[k, v]...]], ["set", [...]],
// ["uuid", "..."], or a bare atom).
export type OvsdbValue = string | number | boolean | OvsdbValue[] | Record<string, string>;
export type OvsdbRow = Record<string, OvsdbValue>;

function decode(cell: unknown): OvsdbValue {
  if (!Array.isArray(cell)) return cell as string | number | boolean;
  const [tag, body] = cell as [string, unknown];
  if (tag === "map") return Object.fromEntries((body as [unknown, unknown][]).map(([k, v]) => [String(k), String(decode(v))]));
  if (tag === "set") return (body as unknown[]).map(decode);
  return String(body); // uuid, named-uuid
}

export function parseTable(json: string): OvsdbRow[] {
  const table = JSON.parse(json) as { headings: string[]; data: unknown[][] };
  return table.data.map((row) => Object.fromEntries(table.headings.map((h, i) => [h, decode(row[i])])));
}

/** An optional scalar column: OVSDB encodes "none" as an empty set. */
export function optional<T extends OvsdbValue>(value: OvsdbValue | undefined): T | undefined {
  return Array.isArray(value) && value.length === 0 ? undefined : (value as T);
}

export function asMap(value: OvsdbValue | undefined): Record<string, string> {
  return value && typeof value === "object" && !Array.isArray(value) ? value : {};
}

export function asList(value: OvsdbValue | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}
