// The seed notes' figures (../shared/seed), measured on Netronome SmartNIC
// hardware with kernel-datapath classic OVS: what the report sets the
// measured figures beside. A throughput is iperf's own whole-run line where
// the notes have one, else the median of the intervals they show (as the
// report gives the median of its runs); a ping is the mean of those shown.
import type { Scenario, Variant } from "../stacks/config.ts";

export interface SeedFigures {
  singleGbps?: number;
  parallelGbps?: number;
  pingMs?: number;
  /** The notes' own words on CPU and the rest, shortened. */
  note: string;
}

export const SEED: Record<Scenario, Record<Variant, SeedFigures>> = {
  "internal-vs-netvf": {
    classic: { singleGbps: 3.15, parallelGbps: 8.9, note: "1 stream: receiver a core at 100% softirq and one at 94% sys; multi-flow with RPS on" },
    // Lines 177 and 261: "0.0-100.0 sec 92.1 GBytes 7.91 Gbits/sec" (single flow), "[SUM] 0.0-100.0 sec 106 GBytes 9.12" (multiple).
    offload: { singleGbps: 7.91, parallelGbps: 9.12, note: "1 stream: sender core 80% sys + 20% softirq, receiver core 50% sys + 10% softirq; multi-flow: a sender core at 90% softirq" },
  },
  meter: {
    classic: { note: "no meters in classic OVS then" },
    offload: { note: "the 200 Mbit/s drop band limits as set" },
  },
  "gateway-forward": {
    classic: { parallelGbps: 2.39, note: "a gateway core at 100% softirq" },
    offload: { parallelGbps: 9.09, note: "no gateway CPU" },
  },
  "gateway-firewall": {
    // Lines 454-471, one stream per second from 1.53 to 1.72.
    classic: { singleGbps: 1.58, note: "a core at 80% softirq (the notes do not say on which host)" },
    offload: { note: "no figure: \"much like gateway forward\"; no CPU used" },
  },
  "virtio-relay": {
    classic: { singleGbps: 4.02, pingMs: 0.548, note: "sender: a vhost thread near one core; receiver: softirq and a vhost thread" },
    offload: { singleGbps: 5.0, pingMs: 0.265, note: "one relay core at 100%, both ways" },
  },
};
