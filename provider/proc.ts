// Processes of this machine as /proc shows them.
import { readFileSync } from "node:fs";

export interface ProcStat {
  /** The command name (at most 15 bytes). */
  comm: string;
  /** R, S, D, Z (a zombie: exited, not yet reaped), … */
  state: string;
  ppid: number;
}

/** What /proc/<pid>/stat says of a process, or undefined when there is none. */
export function procStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may itself contain ") ".
    const close = stat.lastIndexOf(")");
    const [state, ppid] = stat.slice(close + 2).split(" ");
    return { comm: stat.slice(stat.indexOf("(") + 1, close), state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
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
