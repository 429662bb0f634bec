// Processes of this machine as /proc shows them.
import { readFileSync, readlinkSync, statSync } from "node:fs";

export interface ProcStat {
  /** The command name (at most 15 bytes). */
  comm: string;
  /** R, S, D, Z (a zombie: exited, not yet reaped), … */
  state: string;
  ppid: number;
  /** When it started, in clock ticks after boot (field 22): what tells it from a later process given the same pid. */
  start: number;
}

/** Errors of a read under /proc/<pid> (or of a pidfile) that mean the process or file is gone: ESRCH when it exits during the read. */
const GONE = new Set(["ENOENT", "ESRCH"]);

/** For `.catch`: undefined for a file or process that is gone; any other error is thrown on. */
export function unlessGone(err: unknown): undefined {
  if (GONE.has((err as NodeJS.ErrnoException).code ?? "")) return undefined;
  throw err;
}

/** What /proc/<pid>/stat says of a process, or undefined when there is none. */
export function procStat(pid: number): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch (err) {
    return unlessGone(err);
  }
  // The command name is in parentheses and may itself contain ") "; the fields after it start at field 3.
  const close = stat.lastIndexOf(")");
  const fields = stat.slice(close + 2).split(" ");
  return { comm: stat.slice(stat.indexOf("(") + 1, close), state: fields[0], ppid: Number(fields[1]), start: Number(fields[22 - 3]) };
}

/** A running (not zombie) process whose command name is `comm`. */
export function isRunning(pid: number, comm: string): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== "Z" && stat.comm === comm;
}

/** The nearest ancestor of `pid` (at most `hops` up) whose command name is `comm`. */
export function ancestorNamed(pid: number, comm: string, hops = 8): number | undefined {
  for (let p = procStat(pid)?.ppid ?? 0; p > 1 && hops > 0; hops--) {
    if (isRunning(p, comm)) return p;
    p = procStat(p)?.ppid ?? 0;
  }
  return undefined;
}

/** One process, told apart from any later one given the same pid. */
export interface ProcIdentity {
  pid: number;
  start: number;
  /** The owner of /proc/<pid>: the process's effective uid. */
  uid: number;
  /** The program it runs (/proc/<pid>/exe). */
  exe: string;
}

/** The identity of a running (not zombie) process; undefined when there is none or its program cannot be read (another user's, unless we are root). */
export function procIdentity(pid: number): ProcIdentity | undefined {
  const stat = procStat(pid);
  if (stat === undefined || stat.state === "Z") return undefined;
  try {
    // A program replaced on disk since it started (an upgrade) reads "<path> (deleted)": still the same process.
    const exe = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
    return { pid, start: stat.start, uid: statSync(`/proc/${pid}`).uid, exe };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EACCES") return undefined; // another user's program
    return unlessGone(err);
  }
}

/** Whether the process `id` names still runs: not when its pid is gone, a zombie, or now another process or program. */
export function stillRunning(id: ProcIdentity): boolean {
  const now = procIdentity(id.pid);
  return now !== undefined && now.start === id.start && now.uid === id.uid && now.exe === id.exe;
}

/**
 * When a running process started, in ms since the epoch. Rounded down (the
 * boot time /proc gives is in whole seconds), so never later than it was.
 */
export function startedAt(pid: number): number | undefined {
  const stat = procStat(pid);
  if (stat === undefined || stat.state === "Z") return undefined;
  const boot = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
  // Field 22 counts USER_HZ ticks: 100 a second on every architecture Node.js runs on.
  return (boot + stat.start / 100) * 1000;
}
