// Checks what a stack says must hold (its `expectations` output) against the
// hosts: real traffic between the endpoints, flow counters, conntrack.
import { exec } from "../provider/host.ts";
import { dumpFlowsArgv } from "../provider/ovs/ofctl.ts";
import type { Expectation, ScenarioOutputs } from "../stacks/expectations.ts";
import { iperf, ping, withIperfServer } from "./traffic.ts";

const THROUGHPUT_SECONDS = 3;

export interface CheckResult {
  expectation: Expectation;
  ok: boolean;
  /** What was seen, e.g. "3/3 answers" or "187.4 Mbit/s". */
  seen: string;
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

  // Counters are read before any traffic, so each check sees what this run moved.
  const counted = outputs.expectations.filter((e) => e.kind === "flowPackets");
  const before = await Promise.all(counted.map(async (e) => countPackets(await dumpFlows(e.host), e.contains)));

  const results: CheckResult[] = [];
  const record = (expectation: Expectation, ok: boolean, seen: string) => {
    results.push({ expectation, ok, seen });
    say(`${ok ? "ok  " : "FAIL"} ${expectation.why} (${seen})`);
  };
  for (const e of outputs.expectations) {
    switch (e.kind) {
      case "reaches": {
        const r = await ping(endpoint(e.from), endpoint(e.to).address);
        record(e, r.received > 0, `ping ${e.from} -> ${e.to}: ${r.received}/${r.transmitted} answers${r.rttMs ? `, avg ${r.rttMs.avg} ms` : ""}`);
        break;
      }
      case "tcp": {
        const to = endpoint(e.to);
        const connected = await withIperfServer(to, () => iperf(endpoint(e.from), to, 1).then(() => true, () => false));
        record(e, connected === e.connects, `TCP ${e.from} -> ${e.to}: ${connected ? "connected" : "no connection"}`);
        break;
      }
      case "throughput": {
        const to = endpoint(e.to);
        const { receivedBps } = await withIperfServer(to, () => iperf(endpoint(e.from), to, THROUGHPUT_SECONDS));
        const mbps = receivedBps / 1e6;
        const ok = (e.atMostMbps === undefined || mbps <= e.atMostMbps) && (e.atLeastMbps === undefined || mbps >= e.atLeastMbps);
        const bounds = [e.atLeastMbps !== undefined ? `>= ${e.atLeastMbps}` : "", e.atMostMbps !== undefined ? `<= ${e.atMostMbps}` : ""].filter(Boolean).join(", ");
        record(e, ok, `iperf3 ${e.from} -> ${e.to}: ${mbps.toFixed(1)} Mbit/s, expected ${bounds}`);
        break;
      }
      case "flowPackets":
        break; // after the traffic, below
      case "conntrack": {
        const { stdout } = await exec(host(e.host), ["ovs-appctl", "dpctl/dump-conntrack", `zone=${e.zone}`]);
        const entries = stdout.split("\n").filter((l) => l.trim() !== "").length;
        record(e, entries > 0, `${entries} conntrack entries in zone ${e.zone} on ${e.host}`);
        break;
      }
    }
  }
  for (const [i, e] of counted.entries()) {
    const moved = countPackets(await dumpFlows(e.host), e.contains) - before[i];
    record(e, moved > 0, `${moved} packets on ${e.host}'s flows with ${e.contains.join(" ")}`);
  }
  return results;
}
