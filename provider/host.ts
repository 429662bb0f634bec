// The transport: where a command runs, and running it as an argument vector.
// A HostSpec is plain data so resources can carry it into a serialised
// dynamic provider and resolve it inside each call.
import { AsyncLocalStorage } from "node:async_hooks";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, lstatSync, mkdirSync, readlinkSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { ADVICE, classify, type ErrorKind } from "./errors.ts";

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
   * `ovsRundir` reach a lab host on that machine. `become: "sudo"` runs each
   * command as root through `sudo -n` for a user who is not root.
   */
  | { kind: "ssh"; address: string; port?: number; user: string; become?: "sudo"; identityFile?: string; hostKey?: string; netns?: string; ovsRundir?: string };

export interface ExecOptions {
  /** Fed to the command's standard input. */
  stdin?: string;
  /**
   * The call rejects after this long, and the command and every process it
   * started here (its process group) are killed (SIGKILL); over SSH the remote
   * command is bounded by the same budget too. Default 30 s.
   */
  timeoutMs?: number;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * A command that could not be run, exited non-zero or timed out. Its message
 * has the command as a shell line to run again by hand, then what to do where
 * the tool does not say it; `kind` says what the failure means (classify),
 * `cause` what stopped a command that never exited.
 */
export class CommandError extends Error {
  readonly host: string;
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly kind: ErrorKind;

  constructor(host: string, argv: readonly string[], exitCode: number | null, stdout: string, stderr: string, why: string, options: { cause?: unknown } = {}) {
    const said = stderr.replace(/\r\n/g, "\n").trim();
    const kind = classify(argv, exitCode, stderr, options.cause);
    super(`on ${host}: \`${shellQuote(argv)}\` ${why}${said ? `: ${said}` : ""}${ADVICE[kind] ? `\n${ADVICE[kind]}` : ""}`, options);
    this.name = "CommandError";
    this.host = host;
    this.argv = argv;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
    this.kind = kind;
  }
}

/** For `.catch`: undefined when a command failed in one of these ways (a delete finding nothing, say); any other error is thrown on. */
export function ignoring(...kinds: ErrorKind[]): (err: unknown) => undefined {
  return (err) => {
    if (err instanceof CommandError && kinds.includes(err.kind)) return undefined;
    throw err;
  };
}

/** A short name for the host, for messages. */
export function hostLabel(host: HostSpec): string {
  if (host.kind === "local") return "localhost";
  if (host.kind === "netns") return `netns ${host.netns}`;
  return `ssh ${host.user}@${host.address}:${host.port ?? 22}${host.netns ? ` netns ${host.netns}` : ""}${host.become ? ` with ${host.become}` : ""}`;
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
 * Where ssh keeps the control sockets and known_hosts files: root's under
 * /run (beside /run/ovs-offload-lab, not in it: lab teardown removes that
 * when empty, and the lab tests compare what is in it), another user's
 * in their runtime or cache directory. Never a shared directory like /tmp,
 * where anyone could make it first. A control socket path must stay under
 * 108 bytes, ssh's temporary suffix (17) included: these are short.
 */
function sshDir(): string {
  if (process.geteuid!() === 0) return "/run/ovs-offload-lab-ssh";
  if (process.env.XDG_RUNTIME_DIR) return join(process.env.XDG_RUNTIME_DIR, "ovs-offload-lab-ssh");
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "ovs-offload-lab", "ssh");
}

/** `path` and every directory above it. */
function ancestry(path: string): string[] {
  const up = dirname(path);
  return up === path ? [path] : [...ancestry(up), path];
}

/**
 * Makes `dir` (mode 0700) when missing, and checks that only this user can
 * use it: whoever can write there could plant a control socket that receives
 * our commands, or our known_hosts file. So: a directory, not a link; ours;
 * no access for group or others; and every directory above it root's or ours
 * and writable by no one else (unless sticky, like /tmp: then no one else can
 * rename or remove what is ours in it). Throws saying what is wrong and what
 * to do.
 */
function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const euid = process.geteuid!();
  const refuse = (why: string, fix: string) => new Error(`${dir}, ssh's directory for control sockets and known_hosts files, ${why}: ${fix}`);
  const remake = `remove it (rm -r ${dir}) and run again; it is made afresh, private to this user`;
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) throw refuse(`is a symbolic link (to ${readlinkSync(dir)})`, `remove the link (rm ${dir}) and run again; a private directory is made in its place`);
  if (!st.isDirectory()) throw refuse("is not a directory", remake);
  if (st.uid !== euid) throw refuse(`is owned by uid ${st.uid}, not by this user (uid ${euid})`, remake);
  if (st.mode & 0o077) throw refuse(`has mode 0${(st.mode & 0o777).toString(8)}: group or others can use it`, remake);
  // The path as given and as resolved: a link above it is only as safe as the directory holding it.
  for (const p of new Set([...ancestry(dirname(dir)), ...ancestry(realpathSync(dirname(dir)))])) {
    const a = lstatSync(p);
    const fix = `make ${p} owned by root or this user and writable by no one else (chown, chmod go-w), or remove ${dir}`;
    if (a.uid !== 0 && a.uid !== euid) throw refuse(`is inside ${p}, owned by uid ${a.uid}`, fix);
    if (!a.isSymbolicLink() && a.mode & 0o022 && !(a.mode & 0o1000)) throw refuse(`is inside ${p}, which group or others can write to (mode 0${(a.mode & 0o7777).toString(8)})`, fix);
  }
}

/**
 * Writes `text` to `path` whole, never through whatever is there: a new file
 * (exclusive create, a random name) renamed over it. ssh reading the file
 * at the same time sees the old one or the new one.
 */
function replaceFile(path: string, text: string): void {
  const temporary = join(dirname(path), `.${randomBytes(8).toString("hex")}.tmp`);
  try {
    writeFileSync(temporary, text, { flag: "wx", mode: 0o600 });
    renameSync(temporary, path);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
}

/**
 * ssh options: one shared connection per host (ControlMaster), so a stack does
 * not pay a handshake per command; strict host key checking; never a prompt;
 * bounded waits for a server that does not answer. Sockets and known_hosts
 * files live in `dir`, which must be private (see privateDir); it is a
 * parameter for the tests.
 */
export function sshOptions(host: Extract<HostSpec, { kind: "ssh" }>, dir = sshDir()): string[] {
  privateDir(dir);
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
    // ssh looks a host on port 22 up by its bare name, on any other port as [name]:port.
    replaceFile(knownHosts, `${port === 22 ? host.address : `[${host.address}]:${port}`} ${host.hostKey}\n`);
    options.push("-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null");
  }
  if (host.identityFile) options.push("-o", "IdentitiesOnly=yes", "-i", host.identityFile);
  return options;
}

/** Seconds after the remote command's time is up before it is sent SIGKILL rather than SIGTERM. */
const REMOTE_KILL_AFTER_S = 2;

/**
 * The argv that runs `argv` on `host` from this machine, and the environment
 * variables it needs on top of this process's own. Over SSH the remote
 * command gets `timeoutMs` too: killing ssh here leaves it running there.
 */
export function commandFor(host: HostSpec, argv: readonly string[], timeoutMs = DEFAULT_TIMEOUT_MS): { argv: string[]; env: Record<string, string> } {
  if (host.kind === "local") return { argv: [...argv], env: {} };
  if (host.kind === "ssh") {
    // sudo -n fails at once where it would prompt. It wraps the whole command, timeout included: a
    // timeout of root's can kill everything the command started, one of the user's could not; and
    // env runs after sudo has reset the environment, so OVS_RUNDIR reaches the tools.
    const become = host.become === "sudo" ? ["sudo", "-n", "--"] : [];
    // coreutils timeout signals the command's whole process group, so what it started goes too.
    const bound = ["timeout", "-k", String(REMOTE_KILL_AFTER_S), String(timeoutMs / 1000)];
    const remote = [...become, ...bound, ...(host.netns ? ["ip", "netns", "exec", host.netns] : []), ...(host.ovsRundir ? ["env", `OVS_RUNDIR=${host.ovsRundir}`] : []), ...argv];
    // ssh passes one command line to the remote shell: the only place argv is quoted.
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

/**
 * How long the output pipes may stay open, with nothing coming through them,
 * after the command exited. What it wrote is read within an iteration of the
 * event loop (ssh's shared connection may still be writing the rest: that
 * keeps the pipes busy); pipes open and quiet this long are held by something
 * the command left running in the background.
 */
const PIPE_GRACE_MS = 1000;

/** Runs a command on a host: `transport` below, or what a test puts in its place (withExecutor). */
export type Executor = (host: HostSpec, argv: readonly string[], options: ExecOptions) => Promise<ExecResult>;

const executors = new AsyncLocalStorage<Executor>();

/**
 * Runs `fn` with `executor` in place of the real transport for every command
 * started in its async scope, and in nobody else's: concurrent tests and
 * the real hosts are untouched (test/support/recording-host.ts).
 */
export function withExecutor<T>(executor: Executor, fn: () => Promise<T>): Promise<T> {
  return executors.run(executor, fn);
}

/**
 * Runs `argv` on `host` (see transport); every layer above calls this. With
 * OVS_OFFLOAD_LAB_TRACE set to a file's path, each command is appended to it
 * as a JSON line when it ends: host, argv, milliseconds, exit code (null: it
 * never exited). Standard input is left out.
 */
export function exec(host: HostSpec, argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const run = executors.getStore() ?? transport;
  const trace = process.env.OVS_OFFLOAD_LAB_TRACE;
  if (!trace) return run(host, argv, options);
  const started = performance.now();
  const traced = (exitCode: number | null) => appendFileSync(trace, `${JSON.stringify({ host: hostLabel(host), argv, ms: Math.round(performance.now() - started), exitCode })}\n`);
  return run(host, argv, options).then(
    (result) => (traced(0), result),
    (err: unknown) => {
      traced(err instanceof CommandError ? err.exitCode : null);
      throw err;
    },
  );
}

/**
 * Runs `argv` on `host`; resolves with its output, rejects with a
 * CommandError. It settles when the command has exited and its output pipes
 * have closed, or have been quiet PIPE_GRACE_MS since it exited (what it left
 * holding them is then killed), and at the latest at the timeout.
 */
export function transport(host: HostSpec, argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const label = hostLabel(host);
  let command: ReturnType<typeof commandFor>;
  try {
    command = commandFor(host, argv, timeoutMs);
  } catch (err) {
    return Promise.reject(new CommandError(label, argv, null, "", "", `could not start (${(err as Error).message})`, { cause: err }));
  }
  return new Promise((resolve, reject) => {
    const { argv: full, env } = command;
    let child: ChildProcessWithoutNullStreams;
    try {
      // Its own process group (detached), so that a kill reaches everything it started; stdio is all pipes (the default).
      child = spawn(full[0], full.slice(1), { env: { ...process.env, ...env }, detached: true });
    } catch (err) {
      // spawn validates its arguments first: a NUL byte, which no argv can carry, is a TypeError.
      reject(new CommandError(label, argv, null, "", "", `was not run (${(err as Error).message})`, { cause: err }));
      return;
    }
    let stdout = "";
    let stderr = "";
    let settled = false;
    let grace: NodeJS.Timeout | undefined;
    let busy = false;
    /** Output after the command exited: its pipes are not quiet yet. */
    const heard = () => {
      busy = true;
      grace?.refresh();
    };
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch (err) {
        // ESRCH: nothing of it left; EPERM: all that is left runs as another user (a setuid program), not ours to kill.
        if (!["ESRCH", "EPERM"].includes((err as NodeJS.ErrnoException).code ?? "")) throw err;
      }
    };
    /** Settles once, without waiting for pipes: `why` undefined is success. */
    const settle = (why: string | undefined, code: number | null, cause?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(grace);
      child.stdout.destroy();
      child.stderr.destroy();
      if (why === undefined) resolve({ stdout, stderr });
      else reject(new CommandError(label, argv, code, stdout, stderr, why, { cause }));
    };
    const outcome = (code: number | null, signal: NodeJS.Signals | null) => (code === 0 ? undefined : code === null ? `was killed by ${signal}` : `exited ${code}`);
    const deadline = setTimeout(() => {
      killGroup();
      const why = `timed out after ${timeoutMs} ms`;
      settle(why, null, new DOMException(why, "TimeoutError"));
    }, timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      heard();
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      heard();
    });
    child.on("error", (err) => settle(`could not start (${err.message})`, null, err));
    child.on("exit", (code, signal) => {
      if (settled) return;
      grace = setTimeout(() => {
        busy = false;
        // The pipes are polled once more first, in case the event loop was held up past the timer.
        setImmediate(() => {
          if (settled || busy) return; // more output came: the timer runs again
          killGroup();
          settle(outcome(code, signal), code);
        });
      }, PIPE_GRACE_MS);
    });
    child.on("close", (code, signal) => settle(outcome(code, signal), code));
    // A command that exits without reading its input must not fail the call.
    child.stdin.on("error", () => {});
    child.stdin.end(options.stdin ?? "");
  });
}

/**
 * Polls `done` with a bounded backoff (10 ms, doubling up to 200 ms) until it
 * holds or `timeoutMs` has passed; resolves whether it held. State shows up
 * after the command that changes it returns (a driver binding, a daemon's
 * pidfile, a guest's console): wait for it this way, never by a fixed sleep.
 */
export async function waitFor(done: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 10; ; delay = Math.min(delay * 2, 200)) {
    if (await done()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** `fn`'s result and the seconds it took, on the monotonic clock. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await fn();
  return [value, (performance.now() - started) / 1000];
}
