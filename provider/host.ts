// The transport: where a command runs, and running it as an argument vector.
// A HostSpec is plain data so resources can carry it into a serialised
// dynamic provider and resolve it inside each call.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** How to reach a machine. */
export type HostSpec =
  /** This machine. */
  | { kind: "local" }
  /**
   * A network namespace on this machine (a lab host). `ovsRundir` is the run
   * directory of the Open vSwitch that serves the namespace (OVS_RUNDIR), when
   * it is not the system one.
   */
  | { kind: "netns"; netns: string; ovsRundir?: string }
  /**
   * A machine over SSH. Authentication is by the SSH agent (SSH_AUTH_SOCK of
   * the Pulumi process) or `identityFile`, a key file's path: no secret is
   * ever an input. The server is verified against `hostKey` (its public key,
   * "ssh-ed25519 AAAA…") or else the user's known_hosts. `netns` and
   * `ovsRundir` reach a lab host on that machine.
   */
  | { kind: "ssh"; address: string; port?: number; user: string; identityFile?: string; hostKey?: string; netns?: string; ovsRundir?: string };

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
  if (host.kind === "local") return "localhost";
  if (host.kind === "netns") return `netns ${host.netns}`;
  return `ssh ${host.user}@${host.address}:${host.port ?? 22}${host.netns ? ` netns ${host.netns}` : ""}`;
}

/**
 * The host that runs commands on `host`'s machine, in network namespace
 * `netns` (the machine's root namespace when undefined). A lab host is a
 * namespace of this machine, so its machine is this one.
 */
export function onMachine(host: HostSpec, netns?: string): HostSpec {
  if (host.kind === "ssh") return { ...host, netns, ovsRundir: undefined };
  return netns === undefined ? { kind: "local" } : { kind: "netns", netns };
}

/** Seconds to wait for an SSH connection and handshake; an idle shared connection lives SSH_PERSIST_S. */
const SSH_CONNECT_TIMEOUT_S = 10;
const SSH_PERSIST_S = 60;
/** A shared connection whose server stops answering is dropped within about 15 s, failing its commands rather than leaving them waiting. */
const SSH_ALIVE_INTERVAL_S = 5;
const SSH_ALIVE_COUNT = 2;

/**
 * ssh options: one shared connection per host (ControlMaster), so a stack does
 * not pay a handshake per command; strict host key checking; never a prompt;
 * bounded waits for a server that does not answer.
 */
function sshOptions(host: Extract<HostSpec, { kind: "ssh" }>): string[] {
  const dir = join(tmpdir(), `ool-ssh-${process.getuid?.() ?? 0}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const port = host.port ?? 22;
  // One shared connection per destination *and* credentials: a connection
  // made with one host key or identity must never serve a spec with another.
  const id = createHash("sha256").update(JSON.stringify([host.user, host.address, port, host.hostKey ?? "", host.identityFile ?? ""])).digest("hex").slice(0, 24);
  const options = [
    "-o", "BatchMode=yes",
    "-o", `ConnectTimeout=${SSH_CONNECT_TIMEOUT_S}`,
    "-o", "StrictHostKeyChecking=yes",
    "-o", "ControlMaster=auto",
    "-o", `ControlPath=${join(dir, id)}`,
    "-o", `ControlPersist=${SSH_PERSIST_S}`,
    "-o", `ServerAliveInterval=${SSH_ALIVE_INTERVAL_S}`,
    "-o", `ServerAliveCountMax=${SSH_ALIVE_COUNT}`,
    "-p", String(port),
  ];
  if (host.hostKey) {
    const knownHosts = join(dir, `${id}.known_hosts`);
    writeFileSync(knownHosts, `[${host.address}]:${port} ${host.hostKey}\n`, { mode: 0o600 });
    options.push("-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null");
  }
  if (host.identityFile) options.push("-o", "IdentitiesOnly=yes", "-i", host.identityFile);
  return options;
}

/**
 * The argv that runs `argv` on `host` from this machine, and the environment
 * variables it needs on top of this process's own.
 */
export function commandFor(host: HostSpec, argv: readonly string[]): { argv: string[]; env: Record<string, string> } {
  if (host.kind === "local") return { argv: [...argv], env: {} };
  if (host.kind === "ssh") {
    // ssh passes one command line to the remote shell: the only place argv is quoted.
    const remote = [...(host.netns ? ["ip", "netns", "exec", host.netns] : []), ...(host.ovsRundir ? ["env", `OVS_RUNDIR=${host.ovsRundir}`] : []), ...argv];
    return { argv: ["ssh", ...sshOptions(host), `${host.user}@${host.address}`, "--", shellQuote(remote)], env: {} };
  }
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
