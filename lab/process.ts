// Daemons the lab starts, stopped by the pid in their pidfile, and only when
// that pid still runs the program we started (pids get reused).
import { readFile } from "node:fs/promises";
import { waitFor } from "../provider/host.ts";
import { procIdentity, stillRunning, unlessGone, type ProcIdentity } from "../provider/proc.ts";

/** The pid in `pidfile`, or undefined when there is no such file or no pid in it. */
export async function readPid(pidfile: string): Promise<number | undefined> {
  const text = await readFile(pidfile, "utf8").catch(unlessGone);
  const pid = Number.parseInt(text?.trim() ?? "", 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The command line of a running process, or undefined when it is gone. */
export async function cmdline(pid: number): Promise<string[] | undefined> {
  return (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(unlessGone))?.split("\0").filter((a) => a !== "");
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
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ESRCH") return; // exited since the check
      throw err;
    }
    if (await waitFor(gone, graceMs)) return;
  }
  throw new Error(`process ${id.pid} (${id.exe}) did not exit after SIGKILL: it is stuck in the kernel; /proc/${id.pid}/stack shows where`);
}
