// Daemons the lab starts, stopped by the pid in their pidfile, and only when
// that pid still runs the program we started (pids get reused).
import { readFile } from "node:fs/promises";
import { procIdentity, stillRunning, type ProcIdentity } from "../provider/proc.ts";

export async function readPid(pidfile: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await readFile(pidfile, "utf8")).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The command line of a running process, or undefined when it is gone. */
export async function cmdline(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, "utf8");
    return raw.split("\0").filter((a) => a !== "");
  } catch {
    return undefined;
  }
}

/** The pid in `pidfile` when it runs a command line containing `token`. */
export async function runningFromPidfile(pidfile: string, token: string): Promise<number | undefined> {
  const pid = await readPid(pidfile);
  if (pid === undefined) return undefined;
  const argv = await cmdline(pid);
  return argv?.some((a) => a.includes(token)) ? pid : undefined;
}

/** Runs a command-line tool's main and exits with its status; a failure is one line on stderr, prefixed with the tool's name. */
export function exitWith(tool: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`${tool}: ${err.message}\n`);
      process.exit(1);
    },
  );
}

/** Polls `done` with a bounded backoff; resolves true when it held in time. */
export async function waitFor(done: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    if (await done()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
  }
}

/**
 * SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves when
 * it is gone. The process is `target`, or the one that has `target`'s pid now;
 * each signal goes only to that same process, checked right before it is sent,
 * never to a later one given its pid. (Only a pidfd would close the gap between
 * that check and the signal; Node.js has none.)
 */
export async function stopPid(target: number | ProcIdentity, graceMs = 5000): Promise<void> {
  const id = typeof target === "number" ? procIdentity(target) : target;
  if (id === undefined) return;
  const gone = async () => !stillRunning(id);
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    if (await gone()) return;
    try {
      process.kill(id.pid, signal);
    } catch {
      return;
    }
    if (await waitFor(gone, graceMs)) return;
  }
  throw new Error(`process ${id.pid} (${id.exe}) did not exit after SIGKILL: it is stuck in the kernel; /proc/${id.pid}/stack shows where`);
}
