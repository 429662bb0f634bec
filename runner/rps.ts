// Receive Packet Steering for a measurement, as the seed turned it on for its
// multi-flow run: each receive queue of the named devices hands its packets'
// protocol work (softirq) to every online CPU, by flow hash, instead of the
// one CPU its interrupt lands on. Written to sysfs (rps_cpus, see the
// kernel's Documentation/networking/scaling.rst) and written back as it was.
import { z } from "zod";
import { CommandError, exec, type HostSpec } from "../provider/host.ts";
import { ifName } from "../provider/schema.ts";

/** `--rps NAME:DEVICE`: a host role (host2) or an endpoint (app2), and a network device there. */
export const rpsTarget = z
  .string()
  .regex(/^[^:]+:[^:]+$/, "must be NAME:DEVICE, a host or endpoint of the stack and a network device there, e.g. host2:ens1f0np0")
  .transform((s) => {
    const [on, device] = s.split(":");
    return { on, device };
  })
  .pipe(z.object({ on: z.string(), device: ifName }));
export type RpsTarget = z.output<typeof rpsTarget>;

/** What a device's receive queues held before, and during the measurement. */
export interface RpsQueues {
  on: string;
  device: string;
  /** By queue (rx-0, …): rps_cpus as read before and as read back after writing. */
  queues: Record<string, { before: string; during: string }>;
}

/**
 * The kernel's CPU mask format (comma-separated 32-bit hex words, as rps_cpus
 * reads) for a CPU list like /sys/devices/system/cpu/online's ("0-23", "0-1,3").
 */
export function cpuMask(list: string): string {
  let bits = 0n;
  for (const part of list.trim().split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`not a CPU list: ${JSON.stringify(list)}`);
    for (let cpu = Number(m[1]); cpu <= Number(m[2] ?? m[1]); cpu++) bits |= 1n << BigInt(cpu);
  }
  const words: string[] = [];
  do {
    words.unshift((bits & 0xffffffffn).toString(16));
    bits >>= 32n;
  } while (bits);
  // Words after the first are whole 32-bit words.
  return words.map((w, i) => (i ? w.padStart(8, "0") : w)).join(",");
}

const queueFile = (device: string, queue: string) => `/sys/class/net/${device}/queues/${queue}/rps_cpus`;

async function readMasks(host: HostSpec, files: string[]): Promise<string[]> {
  return (await exec(host, ["cat", ...files])).stdout.trim().split("\n");
}

/** The device's receive queues (rx-0, …); a device that is not there is said plainly. */
async function rxQueues(t: RpsTarget & { host: HostSpec }): Promise<string[]> {
  const listed = await exec(t.host, ["ls", `/sys/class/net/${t.device}/queues`]).catch((e: unknown) => {
    if (e instanceof CommandError && e.kind === "not-found") throw new Error(`--rps ${t.on}:${t.device}: ${t.on} has no network device ${t.device} (${e.message}); name one that \`ip link\` shows there`, { cause: e });
    throw e;
  });
  const queues = listed.stdout.split(/\s+/).filter((q) => q.startsWith("rx-"));
  if (!queues.length) throw new Error(`--rps ${t.on}:${t.device}: ${t.device} has no receive queue in sysfs (a kernel built without CONFIG_RPS?)`);
  return queues;
}

interface Written {
  host: HostSpec;
  file: string;
  before: string;
  what: string;
}

/** Writes each mask back as it was, every one even when one fails; then says which could not be. */
async function restore(written: Written[]): Promise<void> {
  const failed: string[] = [];
  for (const w of written.reverse()) {
    try {
      await exec(w.host, ["tee", w.file], { stdin: `${w.before}\n` });
      const [now] = await readMasks(w.host, [w.file]);
      if (now !== w.before) failed.push(`${w.what}: reads ${now} after writing back ${w.before}`);
    } catch (e) {
      failed.push(`${w.what}: ${(e as Error).message}`);
    }
  }
  if (failed.length) throw new Error(`RPS could not be put back as it was; write each by hand (echo MASK > FILE): ${failed.join("; ")}`);
}

/**
 * Runs `fn` with RPS on every receive queue of each target device, spread
 * over all the CPUs online on its machine; puts each queue's mask back as it
 * was afterwards, also when `fn` or a write fails. Returns `fn`'s result and
 * what each queue held before and during.
 */
export async function withRps<T>(targets: (RpsTarget & { host: HostSpec })[], fn: () => Promise<T>): Promise<[T, RpsQueues[]]> {
  const written: Written[] = [];
  const applied: RpsQueues[] = [];
  let result: T;
  try {
    for (const t of targets) {
      const queues = await rxQueues(t);
      const mask = cpuMask((await exec(t.host, ["cat", "/sys/devices/system/cpu/online"])).stdout);
      const files = queues.map((q) => queueFile(t.device, q));
      const before = await readMasks(t.host, files);
      for (const [i, file] of files.entries()) {
        // Recorded before writing: a write that fails half-way is put back too.
        written.push({ host: t.host, file, before: before[i], what: `${t.on} ${file}` });
        await exec(t.host, ["tee", file], { stdin: `${mask}\n` });
      }
      const during = await readMasks(t.host, files);
      applied.push({ on: t.on, device: t.device, queues: Object.fromEntries(queues.map((q, i) => [q, { before: before[i], during: during[i] }])) });
    }
    result = await fn();
  } catch (e) {
    await restore(written).catch((r: Error) => {
      throw new Error(`${r.message} (after: ${(e as Error).message})`, { cause: e });
    });
    throw e;
  }
  await restore(written);
  return [result, applied];
}
