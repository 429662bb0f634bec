// Measures a stack that is up, as the seed did: ping latency, one TCP stream
// and parallel streams (iperf3 -J), and the CPU the datapath processes
// (each host's ovs-vswitchd, the scenario's QEMU and relay) used during each
// stream. Several runs, their median and spread, as one JSON document.
import { exec, ignoring, timed, type HostSpec } from "../provider/host.ts";
import type { ScenarioOutputs } from "../stacks/expectations.ts";
import { iperf, ping, withIperfServer, type PingResult } from "./traffic.ts";

export interface MeasureSettings {
  runs: number;
  /** Seconds per iperf3 run. */
  seconds: number;
  /** Stream counts of the parallel runs (-P). */
  parallel: number[];
  pings: number;
}

export const DEFAULT_SETTINGS: MeasureSettings = { runs: 3, seconds: 3, parallel: [4], pings: 10 };

export interface StreamResult {
  streams: number;
  receivedBps: number;
  /** iperf3's own CPU figures, in % of one core. */
  senderCpuPercent?: number;
  receiverCpuPercent?: number;
  /** The datapath processes' CPU during the run, in % of one core. */
  datapathCpu: Record<string, number>;
  /** The raw `iperf3 -J` report. */
  report: unknown;
}

export interface RunResult {
  startedAt: string;
  ping: PingResult;
  streams: StreamResult[];
}

export interface Stat {
  median: number;
  min: number;
  max: number;
}

export interface Measurement {
  stack: string;
  scenario: string;
  variant: string;
  /** Lab figures are a userspace-datapath emulation, not SmartNIC hardware. */
  lab: boolean;
  facts: { kernel: string; ovsVersion: string };
  settings: MeasureSettings;
  from: string;
  to: string;
  meterRateMbps?: number;
  startedAt: string;
  finishedAt: string;
  runs: RunResult[];
  summary: {
    singleBps: Stat;
    parallelBps: Record<string, Stat>;
    pingAvgMs?: Stat;
    /** During the single stream. */
    datapathCpuPercent: Record<string, Stat>;
  };
}

/** utime + stime, in clock ticks, from a /proc/<pid>/stat line (the command name may hold spaces and parentheses). */
export function cpuTicks(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).trim().split(/\s+/);
  // Fields 14 and 15 of proc(5), counted from after the command name (field 3 is fields[0]).
  return Number(fields[11]) + Number(fields[12]);
}

export function stat(values: number[]): Stat {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

interface Watched {
  name: string;
  host: HostSpec;
  pidfile: string;
}

/** Each host's ovs-vswitchd, and the scenario's own datapath processes. */
function watchedProcesses(outputs: ScenarioOutputs): Watched[] {
  const vswitchd = Object.entries(outputs.hosts).map(([role, host]) => ({
    name: `ovs-vswitchd ${role}`,
    host: host!,
    pidfile: `${("ovsRundir" in host! && host.ovsRundir) || "/var/run/openvswitch"}/ovs-vswitchd.pid`,
  }));
  return [...vswitchd, ...(outputs.processes ?? [])];
}

/** A process that is not running (no pidfile, no such pid) has no figure rather than a wrong one. */
async function ticksOf(p: Watched): Promise<number | undefined> {
  const pid = (await exec(p.host, ["cat", p.pidfile]).catch(ignoring("not-found")))?.stdout.trim();
  if (!pid || !/^\d+$/.test(pid)) return undefined;
  const stat = await exec(p.host, ["cat", `/proc/${pid}/stat`]).catch(ignoring("not-found"));
  return stat && cpuTicks(stat.stdout);
}

/** Runs `fn` and returns, beside its result, each watched process's CPU during it (% of one core). */
async function withCpu<T>(watched: Watched[], clockTicks: number, fn: () => Promise<T>): Promise<[T, Record<string, number>]> {
  const before = await Promise.all(watched.map(ticksOf));
  const [value, seconds] = await timed(fn);
  const after = await Promise.all(watched.map(ticksOf));
  const cpu: Record<string, number> = {};
  watched.forEach((p, i) => {
    if (before[i] !== undefined && after[i] !== undefined) cpu[p.name] = ((after[i]! - before[i]!) / clockTicks / seconds) * 100;
  });
  return [value, cpu];
}

interface IperfCpu {
  end?: { cpu_utilization_percent?: { host_total: number; remote_total: number } };
}

export async function measure(stack: string, outputs: ScenarioOutputs, settings: MeasureSettings = DEFAULT_SETTINGS, say: (line: string) => void = () => {}): Promise<Measurement> {
  const { from: fromName, to: toName } = outputs.measure;
  const from = outputs.endpoints[fromName];
  const to = outputs.endpoints[toName];
  const firstHost = Object.values(outputs.hosts)[0]!;
  const facts = {
    kernel: (await exec(firstHost, ["uname", "-r"])).stdout.trim(),
    ovsVersion: (await exec(firstHost, ["ovs-vswitchd", "--version"])).stdout.split("\n")[0].trim(),
  };
  const clockTicks = Number((await exec({ kind: "local" }, ["getconf", "CLK_TCK"])).stdout.trim());
  const watched = watchedProcesses(outputs);
  const startedAt = new Date().toISOString();
  const runs: RunResult[] = [];
  for (let r = 0; r < settings.runs; r++) {
    const run: RunResult = { startedAt: new Date().toISOString(), ping: await ping(from, to.address, settings.pings), streams: [] };
    for (const streams of [1, ...settings.parallel]) {
      const [result, datapathCpu] = await withIperfServer(to, () => withCpu(watched, clockTicks, () => iperf(from, to, settings.seconds, streams)));
      const cpu = (result.report as IperfCpu).end?.cpu_utilization_percent;
      run.streams.push({ streams, receivedBps: result.receivedBps, senderCpuPercent: cpu?.host_total, receiverCpuPercent: cpu?.remote_total, datapathCpu, report: result.report });
      say(`${stack}: run ${r + 1}/${settings.runs}, ${streams} stream${streams > 1 ? "s" : ""}: ${(result.receivedBps / 1e9).toFixed(3)} Gbit/s`);
    }
    runs.push(run);
  }
  const streamsOf = (n: number) => runs.map((r) => r.streams.find((s) => s.streams === n)!);
  const pings = runs.map((r) => r.ping.rttMs?.avg).filter((v): v is number => v !== undefined);
  // A process's CPU is summarised only when every run has a figure for it.
  const datapathCpuPercent: Record<string, Stat> = {};
  for (const p of watched) {
    const figures = streamsOf(1).map((s) => s.datapathCpu[p.name]);
    if (figures.every((f) => f !== undefined)) datapathCpuPercent[p.name] = stat(figures);
  }
  return {
    stack, scenario: outputs.scenario, variant: outputs.variant,
    lab: Object.values(outputs.hosts).every((h) => h?.kind === "netns"),
    facts, settings, from: fromName, to: toName, meterRateMbps: outputs.meterRateMbps,
    startedAt, finishedAt: new Date().toISOString(), runs,
    summary: {
      singleBps: stat(streamsOf(1).map((s) => s.receivedBps)),
      parallelBps: Object.fromEntries(settings.parallel.map((n) => [String(n), stat(streamsOf(n).map((s) => s.receivedBps))])),
      pingAvgMs: pings.length ? stat(pings) : undefined,
      datapathCpuPercent,
    },
  };
}
