// What a resource that changes an object others own (a VF's driver, a PF's
// VF count) keeps on that object's host: who changed it and what it found
// there. Kept beside a lab host's emulated sysfs, else in /run (gone at
// reboot, like the change itself). Written before the change, so a create cut
// short is finished (or recovered) exactly and another stack's claim is seen.
import { posix } from "node:path";
import { exec, ignoring, type HostSpec } from "./host.ts";

/** Where a record is: the host, and the sysfs the object is under. */
export interface RecordPlace {
  host: HostSpec;
  sysfsRoot: string;
}

/** Every record names its owner; the rest is the kind's. */
export interface HostRecord {
  owner: string;
}

export type RecordKind = "vf-binding" | "sriov-pf";

const recordDir = (p: RecordPlace, kind: RecordKind) => posix.join(p.sysfsRoot === "/sys" ? "/run/ovs-offload-lab" : posix.dirname(p.sysfsRoot), kind);
const recordFile = (p: RecordPlace, kind: RecordKind, name: string) => posix.join(recordDir(p, kind), name);

export async function readRecord<R extends HostRecord>(p: RecordPlace, kind: RecordKind, name: string): Promise<R | undefined> {
  const found = await exec(p.host, ["cat", recordFile(p, kind, name)]).catch(ignoring("not-found"));
  return found ? (JSON.parse(found.stdout) as R) : undefined;
}

/** Written whole or not at all: a new file (parents made), renamed into place. */
export async function writeRecord<R extends HostRecord>(p: RecordPlace, kind: RecordKind, name: string, record: R): Promise<void> {
  const file = recordFile(p, kind, name);
  const write = async () => {
    await exec(p.host, ["mkdir", "-p", posix.dirname(file)]);
    await exec(p.host, ["tee", `${file}.new`], { stdin: JSON.stringify(record) });
  };
  // Another resource's removeRecord may take the directory away, empty, between the two: once more.
  await write().catch(async (err: unknown) => (ignoring("not-found")(err), write()));
  await exec(p.host, ["mv", "-f", `${file}.new`, file]);
}

export async function removeRecord(p: RecordPlace, kind: RecordKind, name: string): Promise<void> {
  const file = recordFile(p, kind, name);
  await exec(p.host, ["rm", "-f", file]);
  // Resources deleted side by side each remove their record, then the directory when empty: one of them finds it gone.
  await exec(p.host, ["rmdir", "--ignore-fail-on-non-empty", posix.dirname(file)]).catch(ignoring("not-found"));
}

/** The names of a kind's records on the host (none when it has no directory). */
export async function recordNames(p: RecordPlace, kind: RecordKind): Promise<string[]> {
  const listing = await exec(p.host, ["ls", "-1", recordDir(p, kind)]).catch(ignoring("not-found"));
  return listing ? listing.stdout.split("\n").filter((n) => n && !n.endsWith(".new")) : [];
}
