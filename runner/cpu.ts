// Where the CPU time went on each machine during a stream, as `top` shows it
// (the seed's figures: "%Cpu2 : 0.0 us, 80.2 sy, … 19.8 si"): the time each
// CPU spent in user, system, softirq, … between two readings of /proc/stat.
// Per process (ovs-vswitchd, say) misses the kernel's softirq work, which no
// process is charged for: the notes' central finding.
import { exec, type HostSpec } from "../provider/host.ts";

/** /proc/stat's first eight columns (proc(5)); guest and guest_nice are already inside user and nice. */
export const CPU_FIELDS = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"] as const;
export type CpuField = (typeof CPU_FIELDS)[number];
/** Clock ticks spent in each state since boot. */
export type CpuTicks = Record<CpuField, number>;
/** Each state's share of an interval, in % (top's us, ni, sy, id, wa, hi, si, st). */
export type CpuShare = Record<CpuField, number>;

/** The machine's CPU lines: all CPUs together ("cpu") and each online CPU ("cpu0", …; an offline one has no line). */
export interface ProcStatCpus {
  all: CpuTicks;
  cpus: Record<string, CpuTicks>;
}

export function parseProcStat(text: string): ProcStatCpus {
  const cpus: Record<string, CpuTicks> = {};
  let all: CpuTicks | undefined;
  for (const line of text.split("\n")) {
    const [name, ...values] = line.trim().split(/\s+/);
    if (!/^cpu\d*$/.test(name)) continue;
    if (values.length < CPU_FIELDS.length) throw new Error(`/proc/stat line with ${values.length} columns, not ${CPU_FIELDS.length} or more: ${line}`);
    const ticks = Object.fromEntries(CPU_FIELDS.map((f, i) => [f, Number(values[i])])) as CpuTicks;
    if (name === "cpu") all = ticks;
    else cpus[name] = ticks;
  }
  if (!all) throw new Error(`no "cpu" line in /proc/stat: ${text.trim().slice(0, 200)}`);
  return { all, cpus };
}

/**
 * Each state's share of the ticks between two readings, as top computes it:
 * a counter that went backwards (iowait may) counts as zero.
 */
export function share(before: CpuTicks, after: CpuTicks): CpuShare {
  const delta = CPU_FIELDS.map((f) => Math.max(0, after[f] - before[f]));
  const total = delta.reduce((a, b) => a + b, 0);
  return Object.fromEntries(CPU_FIELDS.map((f, i) => [f, total ? (delta[i] / total) * 100 : 0])) as CpuShare;
}

/** Not idle, not waiting for I/O: busy. */
export const busy = (s: CpuShare) => 100 - s.idle - s.iowait;

export interface MachineCpu {
  /** The stack's hosts on this machine (several when they are network namespaces of it, as the lab's hosts are). */
  hosts: string[];
  /** CPUs online in both readings. */
  cpus: number;
  /** All CPUs together, as top's "%Cpu(s)" line (100% = every CPU busy). */
  all: CpuShare;
  /** The CPU busiest during the stream, as its own "%CpuN" line. */
  busiest: CpuShare & { cpu: string };
  /** The CPU with the most softirq time (often the busiest, not always: a core at 94% sy beside one at 100% si). */
  mostSoftirq: CpuShare & { cpu: string };
}

/** One machine's figures between two readings of its /proc/stat. */
export function machineCpu(hosts: string[], before: ProcStatCpus, after: ProcStatCpus): MachineCpu {
  const each = Object.keys(after.cpus)
    .filter((cpu) => before.cpus[cpu])
    .map((cpu) => ({ cpu, ...share(before.cpus[cpu], after.cpus[cpu]) }));
  if (!each.length) throw new Error(`no CPU of ${hosts.join(", ")} was online in both readings of /proc/stat`);
  const most = (by: (s: CpuShare) => number) => each.reduce((a, b) => (by(b) > by(a) ? b : a));
  return { hosts, cpus: each.length, all: share(before.all, after.all), busiest: most(busy), mostSoftirq: most((s) => s.softirq) };
}

/** A machine the stack's hosts run on, and one host to read its /proc from. */
export interface Machine {
  /** The running kernel's boot id: the same in every network namespace of a machine, different on any other. */
  bootId: string;
  hosts: string[];
  via: HostSpec;
}

/**
 * The machines under `hosts`: hosts that are network namespaces of one
 * machine (the lab's are all namespaces of this one) share its CPUs and its
 * /proc/stat, so they are one machine here, not several that pretend.
 */
export async function machinesOf(hosts: Record<string, HostSpec>): Promise<Machine[]> {
  const ids = await Promise.all(Object.entries(hosts).map(async ([name, host]) => ({ name, host, bootId: (await exec(host, ["cat", "/proc/sys/kernel/random/boot_id"])).stdout.trim() })));
  const machines = new Map<string, Machine>();
  for (const { name, host, bootId } of ids) {
    const m = machines.get(bootId);
    if (m) m.hosts.push(name);
    else machines.set(bootId, { bootId, hosts: [name], via: host });
  }
  return [...machines.values()];
}

export async function readProcStat(m: Machine): Promise<ProcStatCpus> {
  return parseProcStat((await exec(m.via, ["cat", "/proc/stat"])).stdout);
}
