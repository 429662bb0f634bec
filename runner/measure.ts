// Measures a stack that is up, as the seed did: ping latency, one TCP stream
// and multi-stream runs (iperf3 -J), and during each stream the CPU as `top`
// showed it — each machine's busiest core and all its cores, user, system
// and softirq, from /proc/stat — beside the CPU the datapath processes (each
// host's ovs-vswitchd, the scenario's QEMU and relay) used. Several runs,
// their median and spread, as one JSON document.
import { z } from "zod";
import { exec, ignoring, timed, type HostSpec } from "../provider/host.ts";
import type { Endpoint, ScenarioOutputs } from "../stacks/expectations.ts";
import { CPU_FIELDS, machineCpu, machinesOf, readProcStat, type CpuField, type CpuShare, type Machine, type MachineCpu } from "./cpu.ts";
import { rpsTarget, withRps, type RpsQueues, type RpsTarget } from "./rps.ts";
import { iperf, iperfProcesses, iperfVersion, ping, withIperfServers, type IperfResult, type PingResult } from "./traffic.ts";

const whole = (min: number, max: number) => {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ message }).int(message).min(min, message).max(max, message);
};

/** What `npm run scenario -- measure` takes (runner/cli.ts): the single source of its checks and messages. */
export const measureSettings = z
  .object({
    /** Runs per stack. */
    runs: whole(1, 20).default(3),
    /** Seconds per iperf3 run (the seed's ran 100). */
    seconds: whole(1, 3600).default(3),
    /** Stream counts of the multi-stream runs, beside the single stream. */
    parallel: z
      .array(whole(2, 64))
      .refine((counts) => new Set(counts).size === counts.length, "must name each stream count once")
      .default([4]),
    /** Echo requests per run. */
    pings: whole(1, 100).default(10),
    /** Devices whose receive queues get RPS during the measurement, on real hosts (runner/rps.ts). */
    rps: z.array(rpsTarget).default([]),
  })
  .strict();
export type MeasureSettings = z.output<typeof measureSettings>;

export const DEFAULT_SETTINGS: MeasureSettings = measureSettings.parse({});

export interface StreamResult {
  streams: number;
  /** iperf3 processes that ran the streams (Measurement.multiStream says why). */
  processes: number;
  /** What the receiver got, over all the processes, in bit/s. */
  receivedBps: number;
  /** iperf3's own CPU figures, summed over the processes, in % of one core. */
  senderCpuPercent?: number;
  receiverCpuPercent?: number;
  /** The datapath processes' CPU during the run, in % of one core. */
  datapathCpu: Record<string, number>;
  /** Each machine's CPUs during the run (/proc/stat), as top shows them: the busiest core and all of them. */
  machineCpu: MachineCpu[];
  /** The raw `iperf3 -J` reports, one per process. */
  reports: unknown[];
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

/** A machine's CPU over the runs of one stream count: each figure's median and spread. */
export interface MachineCpuSummary {
  hosts: string[];
  cpus: number;
  all: Record<CpuField, Stat>;
  /** The busiest core of each run (`cores`: which it was, each run's), its figures. */
  busiest: { cores: string[]; share: Record<CpuField, Stat> };
  mostSoftirq: { cores: string[]; share: Record<CpuField, Stat> };
}

/** How the multi-stream runs were made. */
export interface MultiStream {
  /**
   * "processes": N iperf3 processes at once, one stream each, on N ports,
   * their rates summed; "parallel-streams": one iperf3 process with -P N.
   */
  method: "processes" | "parallel-streams";
  /** `iperf3 --version` at each end, e.g. "3.12". */
  iperf3: { from: string; to: string };
  why: string;
}

export interface Measurement {
  stack: string;
  scenario: string;
  variant: string;
  /** Lab figures are a userspace-datapath emulation, not SmartNIC hardware. */
  lab: boolean;
  facts: {
    kernel: string;
    ovsVersion: string;
    /** The machines under the stack's hosts (by boot id): namespaces of one machine, as the lab's hosts are, share one entry and its CPUs. */
    machines?: { hosts: string[]; cpus: number; bootId: string }[];
  };
  settings: MeasureSettings;
  multiStream?: MultiStream;
  /** The receive queues RPS was turned on for (--rps), and what they held before. */
  rps?: RpsQueues[];
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
    /** By stream count ("1", "4", …); absent in measurements made before it was recorded. */
    cpu?: Record<string, MachineCpuSummary[]>;
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

/** Each machine's figures over the runs (`runs[r][i]`: run r, machine i, in the same order every run). */
export function summarizeCpu(runs: MachineCpu[][]): MachineCpuSummary[] {
  const shares = (pick: (m: MachineCpu) => CpuShare, i: number) => Object.fromEntries(CPU_FIELDS.map((f) => [f, stat(runs.map((r) => pick(r[i])[f]))])) as Record<CpuField, Stat>;
  return runs[0].map((m, i) => ({
    hosts: m.hosts,
    cpus: m.cpus,
    all: shares((x) => x.all, i),
    busiest: { cores: runs.map((r) => r[i].busiest.cpu), share: shares((x) => x.busiest, i) },
    mostSoftirq: { cores: runs.map((r) => r[i].mostSoftirq.cpu), share: shares((x) => x.mostSoftirq, i) },
  }));
}

/** iperf3 3.16 made -P streams threads of their own; before, they share one. */
const THREADED_IPERF3 = { major: 3, minor: 16 };

/** How to run N streams at once between these ends, given their iperf3 versions. */
export function multiStreamMethod(from: Endpoint, versions: { from: Awaited<ReturnType<typeof iperfVersion>>; to: Awaited<ReturnType<typeof iperfVersion>> }): MultiStream {
  const threaded = [versions.from, versions.to].every((v) => v.major > THREADED_IPERF3.major || (v.major === THREADED_IPERF3.major && v.minor >= THREADED_IPERF3.minor));
  const iperf3 = { from: versions.from.version, to: versions.to.version };
  if (threaded) return { method: "parallel-streams", iperf3, why: "iperf3 3.16 and later run each -P stream in a thread of its own, at both ends" };
  const old = `iperf3 before 3.16 (here ${versions.from.version} → ${versions.to.version}) runs the -P streams in one thread`;
  if ("console" in from) return { method: "parallel-streams", iperf3, why: `${old}, and the sender is a guest reached over its serial console, which runs one command at a time: one process with -P` };
  return { method: "processes", iperf3, why: `${old}: one process per stream instead, each on a port of its own` };
}

/** Whether every host is a network namespace of this machine, as the lab's are. */
export const onLab = (outputs: ScenarioOutputs) => Object.values(outputs.hosts).every((h) => h?.kind === "netns");

/** Where each --rps device is: a host of the stack, or an endpoint in a namespace; refused on the lab before any host is touched. */
export function rpsHosts(outputs: ScenarioOutputs, targets: RpsTarget[]): (RpsTarget & { host: HostSpec })[] {
  if (targets.length && onLab(outputs)) {
    throw new Error(
      "--rps is not applicable on the lab: its hosts are network namespaces of this one machine, sharing its CPUs; their devices are veths (no NIC queue, no interrupt), " +
        "and OVS's userspace datapath does its packet work in ovs-vswitchd's own threads, so RPS there would say nothing of RPS on a real host: use it on a stack whose hosts are real machines (docs/stacks.md)",
    );
  }
  return targets.map((t) => {
    const host = outputs.hosts[t.on as keyof ScenarioOutputs["hosts"]];
    if (host) return { ...t, host };
    const e = outputs.endpoints[t.on];
    if (e && "exec" in e) return { ...t, host: e.exec };
    if (e) throw new Error(`--rps ${t.on}:${t.device}: ${t.on} is a guest reached over its serial console: RPS is set on the stack's hosts and on endpoints reached by command (network namespaces, guests over SSH)`);
    const names = [...Object.keys(outputs.hosts), ...Object.keys(outputs.endpoints)].join(", ");
    throw new Error(`--rps ${t.on}:${t.device}: the stack has no host or endpoint named ${t.on} (it has ${names})`);
  });
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

/**
 * Runs `fn` and returns, beside its result, each watched process's CPU during
 * it (% of one core) and each machine's CPUs (/proc/stat read before and after).
 */
async function withCpu<T>(watched: Watched[], machines: Machine[], clockTicks: number, fn: () => Promise<T>): Promise<[T, Record<string, number>, MachineCpu[]]> {
  const read = () => Promise.all([Promise.all(watched.map(ticksOf)), Promise.all(machines.map(readProcStat))]);
  const [ticksBefore, statBefore] = await read();
  const [value, seconds] = await timed(fn);
  const [ticksAfter, statAfter] = await read();
  const cpu: Record<string, number> = {};
  watched.forEach((p, i) => {
    if (ticksBefore[i] !== undefined && ticksAfter[i] !== undefined) cpu[p.name] = ((ticksAfter[i]! - ticksBefore[i]!) / clockTicks / seconds) * 100;
  });
  return [value, cpu, machines.map((m, i) => machineCpu(m.hosts, statBefore[i], statAfter[i]))];
}

interface IperfCpu {
  end?: { cpu_utilization_percent?: { host_total: number; remote_total: number } };
}

/** A figure summed over the processes, when every one has it. */
function summed(results: IperfResult[], pick: (c: { host_total: number; remote_total: number }) => number): number | undefined {
  const figures = results.map((r) => (r.report as IperfCpu).end?.cpu_utilization_percent);
  return figures.every((f) => f !== undefined) ? figures.reduce((a, f) => a + pick(f!), 0) : undefined;
}

export async function measure(stack: string, outputs: ScenarioOutputs, settings: MeasureSettings = DEFAULT_SETTINGS, say: (line: string) => void = () => {}): Promise<Measurement> {
  const { from: fromName, to: toName } = outputs.measure;
  const from = outputs.endpoints[fromName];
  const to = outputs.endpoints[toName];
  const rps = rpsHosts(outputs, settings.rps);
  const hosts = Object.fromEntries(Object.entries(outputs.hosts).filter((e): e is [string, HostSpec] => e[1] !== undefined));
  const firstHost = Object.values(hosts)[0];
  const machines = await machinesOf(hosts);
  const firstStat = await Promise.all(machines.map(readProcStat));
  const facts = {
    kernel: (await exec(firstHost, ["uname", "-r"])).stdout.trim(),
    ovsVersion: (await exec(firstHost, ["ovs-vswitchd", "--version"])).stdout.split("\n")[0].trim(),
    machines: machines.map((m, i) => ({ hosts: m.hosts, cpus: Object.keys(firstStat[i].cpus).length, bootId: m.bootId })),
  };
  for (const m of facts.machines.filter((m) => m.hosts.length > 1)) say(`${stack}: ${m.hosts.join(", ")} are network namespaces of one machine (${m.cpus} CPUs): one /proc/stat for them all`);
  const multiStream = multiStreamMethod(from, { from: await iperfVersion(from), to: await iperfVersion(to) });
  say(`${stack}: multi-stream runs: ${multiStream.method} (${multiStream.why})`);
  const clockTicks = Number((await exec({ kind: "local" }, ["getconf", "CLK_TCK"])).stdout.trim());
  const watched = watchedProcesses(outputs);
  const startedAt = new Date().toISOString();

  /** One stream count's run: its servers, its clients, the CPU while the clients ran. */
  const streamRun = async (streams: number): Promise<StreamResult> => {
    const processes = streams > 1 && multiStream.method === "processes" ? streams : 1;
    const [results, datapathCpu, cpu] = await withIperfServers(to, processes, (ports) =>
      withCpu(watched, machines, clockTicks, () => (processes > 1 ? iperfProcesses(from, to, settings.seconds, ports) : iperf(from, to, settings.seconds, streams, ports[0]).then((r) => [r]))),
    );
    return {
      streams, processes,
      receivedBps: results.reduce((a, r) => a + r.receivedBps, 0),
      senderCpuPercent: summed(results, (c) => c.host_total), receiverCpuPercent: summed(results, (c) => c.remote_total),
      datapathCpu, machineCpu: cpu, reports: results.map((r) => r.report),
    };
  };

  const counts = [1, ...settings.parallel];
  const [runs, rpsApplied] = await withRps(rps, async () => {
    const runs: RunResult[] = [];
    for (let r = 0; r < settings.runs; r++) {
      const run: RunResult = { startedAt: new Date().toISOString(), ping: await ping(from, to.address, settings.pings), streams: [] };
      for (const streams of counts) {
        const result = await streamRun(streams);
        run.streams.push(result);
        const busiest = result.machineCpu.map((m) => `${m.hosts.join("+")} ${m.busiest.cpu} ${m.busiest.system.toFixed(0)}% sy ${m.busiest.softirq.toFixed(0)}% si`).join(", ");
        say(`${stack}: run ${r + 1}/${settings.runs}, ${streams} stream${streams > 1 ? "s" : ""}: ${(result.receivedBps / 1e9).toFixed(3)} Gbit/s; busiest core: ${busiest}`);
      }
      runs.push(run);
    }
    return runs;
  });
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
    lab: onLab(outputs),
    facts, settings, multiStream, ...(rpsApplied.length ? { rps: rpsApplied } : {}),
    from: fromName, to: toName, meterRateMbps: outputs.meterRateMbps,
    startedAt, finishedAt: new Date().toISOString(), runs,
    summary: {
      singleBps: stat(streamsOf(1).map((s) => s.receivedBps)),
      parallelBps: Object.fromEntries(settings.parallel.map((n) => [String(n), stat(streamsOf(n).map((s) => s.receivedBps))])),
      pingAvgMs: pings.length ? stat(pings) : undefined,
      datapathCpuPercent,
      cpu: Object.fromEntries(counts.map((n) => [String(n), summarizeCpu(streamsOf(n).map((s) => s.machineCpu))])),
    },
  };
}
