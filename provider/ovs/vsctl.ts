// ovs-vsctl command builders: several `--` clauses make one transaction, so
// each lifecycle step is one process and one OVSDB commit.
import { asList, asMap, optional, parseTable, type OvsdbRow } from "./ovsdb.ts";

/** external_ids key that marks a row as a resource's own. */
export const OWNER_KEY = "ovs-offload-lab.owner";
/** Seconds ovs-vsctl waits for ovsdb-server and ovs-vswitchd before giving up. */
export const VSCTL_TIMEOUT_S = 20;

export type Clause = string[];

/** One ovs-vsctl transaction; `noWait`: do not wait for ovs-vswitchd to apply it (none may run yet). */
export function vsctl(clauses: Clause[], options: { json?: boolean; noWait?: boolean } = {}): string[] {
  const argv = ["ovs-vsctl", `--timeout=${VSCTL_TIMEOUT_S}`];
  if (options.json) argv.push("--format=json");
  if (options.noWait) argv.push("--no-wait");
  for (const clause of clauses) argv.push("--", ...clause);
  return argv;
}

/** `column:key=value` settings for a map column. */
export function mapSettings(column: string, map: Record<string, string>): string[] {
  return Object.entries(map).map(([k, v]) => `${column}:${k}=${v}`);
}

/** Clauses that make a map column hold `desired` for the keys this resource manages. */
export function mapUpdate(table: string, record: string, column: string, old: Record<string, string>, desired: Record<string, string>): Clause[] {
  const removed = Object.keys(old).filter((k) => !(k in desired));
  const clauses: Clause[] = [];
  if (removed.length) clauses.push(["remove", table, record, column, ...removed]);
  const set = mapSettings(column, desired);
  if (set.length) clauses.push(["set", table, record, ...set]);
  return clauses;
}

/** The entries of a map column for the keys a resource manages (those in `managed`). */
export function managedKeys(column: Record<string, string>, managed: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(managed).filter((k) => k in column).map((k) => [k, column[k]]));
}

export function findClause(table: string, columns: string[], condition: string): Clause {
  return [`--columns=${columns.join(",")}`, "find", table, condition];
}

/** Parses the output of several `find` clauses run with --format=json: one table per line. */
export function parseFinds(stdout: string): OvsdbRow[][] {
  return stdout.split("\n").filter((l) => l.trim()).map(parseTable);
}

export { asList, asMap, optional };
