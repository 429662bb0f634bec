// Traffic between endpoints: ping and iperf3, run inside the endpoints'
// namespaces or guests. Every command is bounded in time; every server is
// started with a pidfile and stopped by its pid. Only busybox-and-iproute2
// commonplaces are used, so a guest runs them as a host does.
import { randomBytes } from "node:crypto";
import { CommandError, exec, ignoring, waitFor, type ExecOptions, type ExecResult } from "../provider/host.ts";
import type { Endpoint } from "../stacks/expectations.ts";
import { consoleExec } from "../vm/console.ts";

const IPERF_PORT = 5201;
const CONNECT_TIMEOUT_MS = 3000;

/** Runs `argv` where the endpoint lives. */
export function runOn(e: Endpoint, argv: readonly string[], options?: ExecOptions): Promise<ExecResult> {
  return "console" in e ? consoleExec(e.console, argv, options) : exec(e.exec, argv, options);
}

export interface PingResult {
  transmitted: number;
  received: number;
  /** min/avg/max/mdev in ms, when any answer came. */
  rttMs?: { min: number; avg: number; max: number; mdev?: number };
}

/** Parses ping's summary lines (iputils' or busybox's). */
export function parsePing(output: string): PingResult {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  if (!counts) throw new Error(`no ping summary in: ${output.trim().slice(-200)}`);
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)(?:\/([\d.]+))? ms/.exec(output);
  return {
    transmitted: Number(counts[1]),
    received: Number(counts[2]),
    rttMs: rtt ? { min: Number(rtt[1]), avg: Number(rtt[2]), max: Number(rtt[3]), ...(rtt[4] ? { mdev: Number(rtt[4]) } : {}) } : undefined,
  };
}

/** `count` echo requests from `from` to `to`; no answer is a result, not an error. */
export async function ping(from: Endpoint, to: string, count = 3): Promise<PingResult> {
  const argv = ["ping", "-q", "-c", String(count), "-i", "0.2", "-W", "2", to];
  const r = await runOn(from, argv, { timeoutMs: (count * 0.2 + 5) * 1000 }).catch((e: unknown) => {
    // No answer came ("not-found", ping's exit 1): its summary says so.
    if (e instanceof CommandError && e.kind === "not-found") return e;
    throw e;
  });
  return parsePing(r.stdout);
}

/** The TCP ports that sockets listen on, from the kernel's own table (no ss in a busybox guest); one read, as a guest's console takes one command at a time. */
async function listeningPorts(at: Endpoint): Promise<Set<number>> {
  const { stdout } = await runOn(at, ["cat", "/proc/net/tcp"]);
  const ports = new Set<number>();
  for (const line of stdout.split("\n")) {
    const [, local, , state] = line.trim().split(/\s+/);
    if (state === "0A" && local?.includes(":")) ports.add(parseInt(local.split(":")[1], 16)); // 0A: LISTEN
  }
  return ports;
}

/** Runs `fn` while an iperf3 server listens on `at`'s address; the server is stopped by its pid afterwards. */
export function withIperfServer<T>(at: Endpoint, fn: () => Promise<T>): Promise<T> {
  return withIperfServers(at, 1, () => fn());
}

/**
 * Runs `fn` while `count` iperf3 servers (one process each) listen on `at`'s
 * address, on ports 5201 and up; each is stopped by its pid afterwards, those
 * already started too when starting another fails.
 */
export async function withIperfServers<T>(at: Endpoint, count: number, fn: (ports: number[]) => Promise<T>): Promise<T> {
  const ports = Array.from({ length: count }, (_, i) => IPERF_PORT + i);
  const pidfiles: string[] = [];
  try {
    for (const port of ports) {
      const pidfile = `/tmp/ool-iperf3-${randomBytes(6).toString("hex")}.pid`;
      pidfiles.push(pidfile);
      await runOn(at, ["iperf3", "--server", "--bind", at.address, "--port", String(port), "--daemon", "--pidfile", pidfile]);
    }
    const all = async () => {
      const open = await listeningPorts(at);
      return ports.every((p) => open.has(p));
    };
    if (!(await waitFor(all, 5000))) throw new Error(`iperf3 did not listen on ${at.address} port${count > 1 ? "s" : ""} ${ports.join(", ")} within 5 s`);
    return await fn(ports);
  } finally {
    for (const pidfile of pidfiles) await stopByPidfile(at, pidfile);
  }
}

/** The server's pidfile and process may be gone already (it exited, or never wrote one): that is not an error. */
async function stopByPidfile(at: Endpoint, pidfile: string): Promise<void> {
  const pid = (await runOn(at, ["cat", pidfile]).catch(ignoring("not-found")))?.stdout.trim();
  if (pid && /^\d+$/.test(pid)) await runOn(at, ["kill", pid]).catch(ignoring("not-found"));
  await runOn(at, ["rm", "-f", pidfile]);
}

export interface IperfResult {
  /** What the receiver got, in bit/s. */
  receivedBps: number;
  /** The raw `iperf3 -J` report. */
  report: unknown;
}

/** Reads a client's `iperf3 -J` report. */
export function parseIperf(json: string): IperfResult {
  const report = JSON.parse(json) as { error?: string; end?: { sum_received?: { bits_per_second: number } } };
  if (report.error) throw new Error(`iperf3: ${report.error}`);
  const bps = report.end?.sum_received?.bits_per_second;
  if (bps === undefined) throw new Error("iperf3 report without end.sum_received");
  return { receivedBps: bps, report };
}

/** One iperf3 TCP run from `from` to a server at `to` (see withIperfServer), of `streams` streams in the one process. */
export async function iperf(from: Endpoint, to: Endpoint, seconds: number, streams = 1, port = IPERF_PORT): Promise<IperfResult> {
  const argv = ["iperf3", "--client", to.address, "--port", String(port), "--time", String(seconds), "--parallel", String(streams), "--json", "--connect-timeout", String(CONNECT_TIMEOUT_MS)];
  const r = await runOn(from, argv, { timeoutMs: (seconds + 15) * 1000 }).catch((e: unknown) => {
    // iperf3 -J reports its own errors as JSON on stdout; a run cut short (a timeout) has no whole report.
    if (e instanceof CommandError && e.kind === "failed" && e.stdout.trim().startsWith("{")) return e;
    throw e;
  });
  return parseIperf(r.stdout);
}

/**
 * iperf3 processes at once from `from`, one stream each, one per server port
 * (see withIperfServers); every one has finished when this settles, and the
 * first failure is the error.
 */
export async function iperfProcesses(from: Endpoint, to: Endpoint, seconds: number, ports: number[]): Promise<IperfResult[]> {
  const settled = await Promise.allSettled(ports.map((port) => iperf(from, to, seconds, 1, port)));
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<IperfResult>).value);
}

/** The version `iperf3 --version` says, e.g. "3.12" from "iperf 3.12 (cJSON 1.7.15)". */
export function parseIperfVersion(output: string): { version: string; major: number; minor: number } {
  const m = /^iperf (\d+)\.(\d+)\S*/m.exec(output);
  if (!m) throw new Error(`no iperf3 version in: ${output.trim().slice(0, 200)}`);
  return { version: m[0].slice("iperf ".length), major: Number(m[1]), minor: Number(m[2]) };
}

export async function iperfVersion(at: Endpoint): Promise<ReturnType<typeof parseIperfVersion>> {
  return parseIperfVersion((await runOn(at, ["iperf3", "--version"])).stdout);
}
