// What a scenario says must hold once it is up, as data in the stack's
// outputs; `npm run scenario -- verify` checks each one (runner/verify.ts).
import type * as pulumi from "@pulumi/pulumi";
import type { HostSpec } from "../provider/host.ts";
import type { Role, Scenario, Variant } from "./config.ts";

export type Expectation =
  /** `from` pings `to` and gets answers. */
  | { kind: "reaches"; from: string; to: string; why: string }
  /** A TCP connection from `from` to `to` is made (or, with connects false, is not). */
  | { kind: "tcp"; from: string; to: string; connects: boolean; why: string }
  /** One TCP stream from `from` to `to` stays within the bounds, in Mbit/s. */
  | { kind: "throughput"; from: string; to: string; atMostMbps?: number; atLeastMbps?: number; why: string }
  /** The packet counters of the flows on `host` whose text has every `contains` item moved during the checks. */
  | { kind: "flowPackets"; host: Role; contains: string[]; why: string }
  /** `host`'s conntrack zone holds committed connections after the checks. */
  | { kind: "conntrack"; host: Role; zone: number; why: string }
  /**
   * `host`'s datapath flows through its VF representors are in hardware, sampled
   * during the checks' traffic; verify makes one per host of an offload
   * variant's `offload` output.
   */
  | { kind: "offloaded"; host: Role; representors: string[]; why: string };

/**
 * An application endpoint and its address: its commands run on a host (its
 * namespace, or a guest reached over SSH), or in a guest through the guest's
 * serial console (a unix socket on this machine).
 */
export type Endpoint = { exec: HostSpec; address: string } | { console: string; address: string };

/** A process of the datapath whose CPU a measurement records (beyond each host's ovs-vswitchd). */
export interface DatapathProcess {
  name: string;
  host: HostSpec;
  pidfile: string;
}

/** A stack's outputs: what it built, where, what must hold, and what to measure. */
export interface ScenarioOutputs {
  scenario: Scenario;
  variant: Variant;
  bridge: string;
  hosts: Partial<Record<Role, HostSpec>>;
  endpoints: Record<string, Endpoint>;
  expectations: Expectation[];
  /** The traffic the seed measured: from one endpoint to another. */
  measure: { from: string; to: string };
  processes?: DatapathProcess[];
  /** The meter's configured rate, where the scenario has one. */
  meterRateMbps?: number;
  /** Offload variants: the VF representors on each host's bridge, where verify looks for the datapath in hardware. */
  offload?: Representors;
}

/** VF representor ports by host, e.g. { host1: ["sdn_v0.0"] }. */
export type Representors = Partial<Record<Role, string[]>>;

/** The program's side of it: the representor ports' names, Pulumi outputs while the program runs. */
export type RepresentorPorts = Partial<Record<Role, pulumi.Input<string>[]>>;

/** The `offload` output of an offload variant (a classic one has none): the stack output holds the names resolved, as verify reads them. */
export function offloadOutput(variant: Variant, ports: RepresentorPorts): Pick<ScenarioOutputs, "offload"> {
  return variant === "offload" ? { offload: ports as Representors } : {};
}
