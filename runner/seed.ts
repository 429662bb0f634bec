// The seed notes' figures (../shared/seed), measured on Netronome SmartNIC
// hardware with kernel-datapath classic OVS: what the report sets the lab's
// figures beside.
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
    classic: { singleGbps: 3.2, parallelGbps: 8.9, note: "receiver: a core at 100% softirq; multi-flow with RPS on" },
    offload: { singleGbps: 8.0, parallelGbps: 9.1, note: "little host CPU" },
  },
  meter: {
    classic: { note: "no meters in classic OVS then" },
    offload: { note: "the 200 Mbit/s drop band limits as set" },
  },
  "gateway-forward": {
    classic: { parallelGbps: 2.4, note: "a gateway core at 100% softirq" },
    offload: { parallelGbps: 9.09, note: "no gateway CPU" },
  },
  "gateway-firewall": {
    classic: { singleGbps: 1.55, note: "a gateway core at 80% softirq" },
    offload: { note: "about as fast as forward (~9 Gbit/s), no CPU" },
  },
  "virtio-relay": {
    classic: { singleGbps: 4.0, pingMs: 0.55, note: "vhost threads: about a core on each side" },
    offload: { singleGbps: 5.0, pingMs: 0.26, note: "one relay core at 100%" },
  },
};
