// The transport: where a command runs, and running it as an argument vector.
// A HostSpec is plain data so resources can carry it into a serialised
// dynamic provider and resolve it inside each call.
import { spawn } from "node:child_process";

/** How to reach a machine. */
export type HostSpec =
  /** This machine. */
  | { kind: "local" }
  /**
   * A network namespace on this machine (a lab host). `ovsRundir` is the run
   * directory of the Open vSwitch that serves the namespace (OVS_RUNDIR), when
   * it is not the system one.
   */
  | { kind: "netns"; netns: string; ovsRundir?: string };

export interface ExecOptions {
  /** Fed to the command's standard input. */
  stdin?: string;
  /** Killed (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** A command that could not be run, exited non-zero or timed out. */
export class CommandError extends Error {
  readonly host: string;
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(host: string, argv: readonly string[], exitCode: number | null, stdout: string, stderr: string, why: string) {
    const detail = stderr.trim() ? `: ${stderr.trim()}` : "";
    super(`on ${host}: \`${argv.join(" ")}\` ${why}${detail}`);
    this.name = "CommandError";
    this.host = host;
    this.argv = argv;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** A short name for the host, for messages. */
export function hostLabel(host: HostSpec): string {
  return host.kind === "local" ? "localhost" : `netns ${host.netns}`;
}

/**
 * The argv that runs `argv` on `host` from this machine, and the environment
 * variables it needs on top of this process's own.
 */
export function commandFor(host: HostSpec, argv: readonly string[]): { argv: string[]; env: Record<string, string> } {
  if (host.kind === "local") return { argv: [...argv], env: {} };
  // `ip netns exec` keeps the environment, so OVS_RUNDIR reaches the OVS tools.
  return { argv: ["ip", "netns", "exec", host.netns, ...argv], env: host.ovsRundir ? { OVS_RUNDIR: host.ovsRundir } : {} };
}

/**
 * One POSIX shell word per argument, for the few places that only take a
 * command line (an SSH remote command, @pulumi/command): single quotes keep
 * every byte literal, and a single quote is written as '\''.
 */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/** Runs `argv` on `host`; resolves with its output, rejects with a CommandError. */
export function exec(host: HostSpec, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const { argv: full, env } = commandFor(host, argv);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const label = hostLabel(host);
  return new Promise((resolve, reject) => {
    const child = spawn(full[0], full.slice(1), { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new CommandError(label, argv, null, stdout, stderr, `could not start (${err.message})`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      const why = timedOut ? `timed out after ${timeoutMs} ms` : code === null ? `was killed by ${signal}` : `exited ${code}`;
      reject(new CommandError(label, argv, code, stdout, stderr, why));
    });
    // A command that exits without reading its input must not fail the call.
    child.stdin.on("error", () => {});
    child.stdin.end(options.stdin ?? "");
  });
}
