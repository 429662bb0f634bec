// Checks what a stack says must hold (its `expectations` output) against the
// hosts: real traffic between the endpoints, flow counters, conntrack; and,
// for an offload variant, whether the datapath is in hardware, sampled on the
// hosts carrying representors while that traffic runs.
import { CommandError, exec, hostLabel, waitFor, type HostSpec } from "../provider/host.ts";
import { dumpFlowsArgv } from "../provider/ovs/ofctl.ts";
import {
  dumpDatapathFlowsArgv, parseDatapathFlows, parseTcFilters, tallyDatapath, tallyTc, tcIngressFiltersArgv, type DatapathTally, type TcTally,
} from "../provider/ovs/offload.ts";
import type { Role } from "../stacks/config.ts";
import type { Expectation, ScenarioOutputs } from "../stacks/expectations.ts";
import { onLab } from "./measure.ts";
import { iperf, ping, withIperfServer } from "./traffic.ts";

const THROUGHPUT_SECONDS = 3;
/** How long one check's traffic is sampled at most; its own commands are bounded in time too. */
const SAMPLING_BOUND_MS = 60_000;

export interface CheckResult {
  expectation: Expectation;
  /** `n/a`: the check cannot be made where the stack runs (offload on the lab, which has no hardware): neither passed nor failed. */
  status: "passed" | "failed" | "n/a";
  /** What was seen, e.g. "3/3 answers" or "187.4 Mbit/s". */
  seen: string;
  /** An `offloaded` check's figures: the fullest sample of its host taken during the traffic. */
  sample?: OffloadSample;
}

/** Whether no check failed (an `n/a` one did not). */
export function noneFailed(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.status !== "failed");
}

/** What one sample saw on a host that carries representors. */
export interface OffloadSample {
  host: Role;
  /** Datapath flows through the representors (`ovs-appctl dpctl/dump-flows -m`), when it could be read. */
  datapath?: DatapathTally;
  /** TC filters on each representor's ingress (`tc -s filter show dev <rep> ingress`), where it could be read. */
  tc: Record<string, TcTally>;
  /** What could not be read: the command, the host and the tool's message. */
  errors: string[];
}

/** Sum of n_packets over the flows whose printed items include every one of `contains`. */
export function countPackets(dump: string, contains: readonly string[]): number {
  let total = 0;
  for (const line of dump.split("\n")) {
    const items = new Set(line.trim().split(/[\s,]+/));
    if (!contains.every((c) => items.has(c))) continue;
    const n = /n_packets=(\d+)/.exec(line);
    if (n) total += Number(n[1]);
  }
  return total;
}

export type OffloadCheck = Extract<Expectation, { kind: "offloaded" }>;

/** One `offloaded` expectation per host of the stack's `offload` output; none for a classic variant. */
export function offloadExpectations(outputs: Pick<ScenarioOutputs, "variant" | "offload">): OffloadCheck[] {
  if (outputs.variant !== "offload") return [];
  if (!outputs.offload) throw new Error("this offload stack's outputs name no representors (`offload`): it was brought up before offload verification; run pulumi up again");
  return Object.entries(outputs.offload).map(([host, representors = []]) => ({
    kind: "offloaded", host: host as Role, representors,
    why: `${host}'s datapath flows through ${representors.join(", ")} are in hardware`,
  }));
}

/** Reads what is in hardware on `host` now. A command that fails is reported in the sample, not thrown. */
export async function sampleOffload(host: HostSpec, role: Role, representors: readonly string[]): Promise<OffloadSample> {
  const errors: string[] = [];
  const read = (argv: string[]) =>
    exec(host, argv).then(
      (r) => r.stdout,
      (err: unknown) => {
        if (!(err instanceof CommandError)) throw err;
        errors.push(err.message);
        return undefined;
      },
    );
  const [dump, ...filters] = await Promise.all([read(dumpDatapathFlowsArgv()), ...representors.map((r) => read(tcIngressFiltersArgv(r)))]);
  const tc: Record<string, TcTally> = {};
  representors.forEach((r, i) => {
    if (filters[i] !== undefined) tc[r] = tallyTc(parseTcFilters(filters[i]));
  });
  return { host: role, ...(dump !== undefined ? { datapath: tallyDatapath(parseDatapathFlows(dump), representors) } : {}), tc, errors };
}

/** Orders samples by how much they show in hardware, then how much traffic they caught. */
function fullness(s: OffloadSample): number[] {
  const tc = Object.values(s.tc);
  return [s.datapath?.offloaded ?? -1, tc.reduce((n, t) => n + t.inHw, 0), s.datapath?.flows ?? -1, s.datapath?.offloadedPackets ?? 0, -s.errors.length];
}

function fuller(a: OffloadSample, b: OffloadSample | undefined): boolean {
  if (!b) return true;
  const [fa, fb] = [fullness(a), fullness(b)];
  const i = fa.findIndex((v, k) => v !== fb[k]);
  return i >= 0 && fa[i] > fb[i];
}

/**
 * Samples the hosts of `checks` while traffic runs, keeping each host's
 * fullest sample. Once every host shows flows in hardware, later traffic is
 * not sampled again.
 */
export function offloadSampler(checks: readonly (OffloadCheck & { at: HostSpec })[]) {
  const best = new Map<Role, OffloadSample>();
  let samples = 0;
  const allOffloaded = () => checks.every((c) => (best.get(c.host)?.datapath?.offloaded ?? 0) > 0);
  const sampleAll = async () => {
    const taken = await Promise.all(checks.map((c) => sampleOffload(c.at, c.host, c.representors)));
    samples++;
    for (const s of taken) if (fuller(s, best.get(s.host))) best.set(s.host, s);
  };
  return {
    best,
    samples: () => samples,
    /** Runs `traffic`, sampling until it settles; its result or error is the traffic's. */
    async during<T>(traffic: () => Promise<T>): Promise<T> {
      if (!checks.length || allOffloaded()) return traffic();
      let settled = false;
      const running = traffic().finally(() => (settled = true));
      const sampling = waitFor(async () => {
        if (!settled) await sampleAll();
        return settled || allOffloaded();
      }, SAMPLING_BOUND_MS);
      // Both settle before either's error is thrown: no sampling is left running behind a failed check.
      const [, sampled] = await Promise.allSettled([running, sampling]);
      if (sampled.status === "rejected") throw sampled.reason;
      return running;
    },
  };
}

/** What a host's fullest sample shows, for the check's line. */
export function describeSample(s: OffloadSample | undefined, representors: readonly string[], lab: boolean): string {
  const reps = representors.join(", ");
  const offloaded = s?.datapath ? String(s.datapath.offloaded) : "unknown";
  const parts = [`offloaded: ${offloaded}${lab ? " (lab: no hardware)" : ""}`];
  if (s?.datapath) {
    const d = s.datapath;
    const where = [
      ...(d.offloaded ? [`${d.offloaded} in hardware (${d.offloadedPackets} packets)`] : []),
      ...(d.partial ? [`${d.partial} partly`] : []),
      ...(d.tcSoftware ? [`${d.tcSoftware} in TC software`] : []),
    ];
    parts.push(`${d.flows} datapath flow${d.flows === 1 ? "" : "s"} through ${reps}${where.length ? `: ${where.join(", ")}` : ""}`);
  }
  for (const [rep, t] of Object.entries(s?.tc ?? {})) {
    parts.push(t.filters ? `tc ${rep} ingress: ${t.filters} filters, ${t.inHw} in_hw, ${t.notInHw} not_in_hw, ${t.hwPackets} packets in hardware` : `tc ${rep} ingress: no filters`);
  }
  return [...parts, ...(s?.errors ?? [])].join("; ");
}

/**
 * An `offloaded` check from its host's fullest sample: on real hardware it
 * passes when datapath flows through the representors were in hardware; on
 * the lab, which has none, what was sampled is reported as n/a, not passed.
 */
export function judgeOffload(
  check: OffloadCheck,
  sample: OffloadSample | undefined,
  where: { lab: boolean; samples: number; at: HostSpec },
): Pick<CheckResult, "status" | "seen"> {
  const seen = `${describeSample(sample, check.representors, where.lab)}; sampled ${where.samples} time${where.samples === 1 ? "" : "s"} during the traffic`;
  if (where.lab) return { status: "n/a", seen };
  if ((sample?.datapath?.offloaded ?? 0) > 0) return { status: "passed", seen };
  return { status: "failed", seen: `${seen}; ${offloadAdvice(where.at, check.representors)}` };
}

/** What to look at on a real host where nothing was offloaded. */
function offloadAdvice(host: HostSpec, representors: readonly string[]): string {
  return (
    `check on ${hostLabel(host)}: other_config:hw-offload="true" in the Open_vSwitch table (ovs-vsctl get Open_vSwitch . other_config), ` +
    `and other_config:tc-policy not skip_hw (read only when ovs-vswitchd starts: restart it after changing it); the NIC's eswitch in switchdev mode ` +
    `(devlink dev eswitch show pci/<PF>); ${representors.join(", ")} a representor of that NIC (its phys_switch_id, ip -d link show); ` +
    `flows "in TC software" mean TC took them and the NIC did not (an action or match it cannot offload)`
  );
}

export async function verify(outputs: ScenarioOutputs, say: (line: string) => void = () => {}): Promise<CheckResult[]> {
  const endpoint = (name: string) => {
    const e = outputs.endpoints[name];
    if (!e) throw new Error(`the stack has no endpoint ${JSON.stringify(name)} (it has ${Object.keys(outputs.endpoints).join(", ")})`);
    return e;
  };
  const host = (role: string) => {
    const h = outputs.hosts[role as keyof typeof outputs.hosts];
    if (!h) throw new Error(`the stack has no host ${JSON.stringify(role)}`);
    return h;
  };
  const dumpFlows = async (role: string) => (await exec(host(role), dumpFlowsArgv(outputs.bridge, undefined, { stats: true }))).stdout;

  const expectations = [...outputs.expectations, ...offloadExpectations(outputs)];
  const offloaded = expectations.filter((e) => e.kind === "offloaded");
  const sampler = offloadSampler(offloaded.map((e) => ({ ...e, at: host(e.host) })));

  // Counters are read before any traffic, so each check sees what this run moved.
  const counted = expectations.filter((e) => e.kind === "flowPackets");
  const before = await Promise.all(counted.map(async (e) => countPackets(await dumpFlows(e.host), e.contains)));

  const results: CheckResult[] = [];
  const record = (expectation: Expectation, status: CheckResult["status"], seen: string, sample?: OffloadSample) => {
    results.push({ expectation, status, seen, ...(sample ? { sample } : {}) });
    say(`${{ passed: "ok  ", failed: "FAIL", "n/a": "n/a " }[status]} ${expectation.why} (${seen})`);
  };
  const check = (expectation: Expectation, ok: boolean, seen: string) => record(expectation, ok ? "passed" : "failed", seen);
  for (const e of expectations) {
    switch (e.kind) {
      case "reaches": {
        const r = await sampler.during(() => ping(endpoint(e.from), endpoint(e.to).address));
        check(e, r.received > 0, `ping ${e.from} -> ${e.to}: ${r.received}/${r.transmitted} answers${r.rttMs ? `, avg ${r.rttMs.avg} ms` : ""}`);
        break;
      }
      case "tcp": {
        const to = endpoint(e.to);
        const run = () => iperf(endpoint(e.from), to, 1).then(() => true, () => false);
        // A connection that must not be made moves no traffic worth sampling.
        const connected = await withIperfServer(to, () => (e.connects ? sampler.during(run) : run()));
        check(e, connected === e.connects, `TCP ${e.from} -> ${e.to}: ${connected ? "connected" : "no connection"}`);
        break;
      }
      case "throughput": {
        const to = endpoint(e.to);
        const { receivedBps } = await withIperfServer(to, () => sampler.during(() => iperf(endpoint(e.from), to, THROUGHPUT_SECONDS)));
        const mbps = receivedBps / 1e6;
        const ok = (e.atMostMbps === undefined || mbps <= e.atMostMbps) && (e.atLeastMbps === undefined || mbps >= e.atLeastMbps);
        const bounds = [e.atLeastMbps !== undefined ? `>= ${e.atLeastMbps}` : "", e.atMostMbps !== undefined ? `<= ${e.atMostMbps}` : ""].filter(Boolean).join(", ");
        check(e, ok, `iperf3 ${e.from} -> ${e.to}: ${mbps.toFixed(1)} Mbit/s, expected ${bounds}`);
        break;
      }
      case "flowPackets":
      case "offloaded":
        break; // after the traffic, below
      case "conntrack": {
        const { stdout } = await exec(host(e.host), ["ovs-appctl", "dpctl/dump-conntrack", `zone=${e.zone}`]);
        const entries = stdout.split("\n").filter((l) => l.trim() !== "").length;
        check(e, entries > 0, `${entries} conntrack entries in zone ${e.zone} on ${e.host}`);
        break;
      }
    }
  }
  for (const [i, e] of counted.entries()) {
    const moved = countPackets(await dumpFlows(e.host), e.contains) - before[i];
    check(e, moved > 0, `${moved} packets on ${e.host}'s flows with ${e.contains.join(" ")}`);
  }
  const lab = onLab(outputs);
  for (const e of offloaded) {
    const sample = sampler.best.get(e.host);
    const { status, seen } = judgeOffload(e, sample, { lab, samples: sampler.samples(), at: host(e.host) });
    record(e, status, seen, sample);
  }
  return results;
}
