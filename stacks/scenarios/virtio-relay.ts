// Scenario 5 of the seed: a VM on host1 and one on host2, joined by GRE.
//   classic: the VM's NIC is tap vnet1, ofport 31 on br0; tun_id 3000.
//   offload: the VM's NIC is served by virtio-relay, which forwards between
//   it and VF 21 bound to nfp_uio; the VF's representor (found in sysfs:
//   sdn_v0.21 on the lab) is ofport 41 with external_ids:virtio_relay=1;
//   tun_id 4000.
// On the lab the VMs are real QEMU guests (vm/) and the relay a lab EMULATION
// of Netronome's (vm/relay.py), started by the stack, their commands run over
// the guest's serial console. On real hosts the user brings the VMs and the
// relays and names them in the config (virtioRelay): the stack does the
// OVS/VF side only and verify reaches each guest over SSH.
import { join } from "node:path";
import * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import { FlowSet, Port } from "@ovs-offload-lab/provider";
import { shellQuote } from "../../provider/host.ts";
import { guestFiles } from "../../vm/guest.ts";
import type { Lab } from "../../lab/layout.ts";
import { virtioRelayIssues, type GuestSide, type Site, type StackConfig } from "../config.ts";
import { offloadOutput, type DatapathProcess, type Endpoint, type Expectation, type RepresentorPorts, type ScenarioOutputs } from "../expectations.ts";
import { BRIDGE, fromTunnel, hostIn, hostSpecs, toTunnel, tunnelBridge, under, vfWithRepresentor, type TunnelBridge } from "../parts.ts";
import { hex } from "./point-to-point.ts";

/** Run by @pulumi/command in the project's root, with the toolchain's node on PATH. */
const VM_CLI = ["node", "vm/cli.ts"];
const PROJECT_ROOT = join(import.meta.dirname, "../..");
const PLAN = {
  classic: { tunId: 3000, ofport: 31 },
  offload: { tunId: 4000, ofport: 41 },
} as const;
const RELAY_VF = 21;
const TAP = "vnet1";

/** One host's guest as the stack wires it: its port on br0, what the flows wait for, how to reach it, its processes. */
interface GuestWiring {
  port: Port;
  /** What must be there before the flows: the guest and relay the stack starts (lab). */
  ready: pulumi.Resource[];
  endpoint: Endpoint;
  processes: DatapathProcess[];
}

/** The guest's tap on br0 (classic). */
function tapPort(tb: TunnelBridge, vm: string, tap: string, after: pulumi.Resource[] = []): Port {
  return new Port(`${tb.host.role}-${vm}-port`, { host: tb.host.spec, bridge: tb.bridge.name, name: tap, ofportRequest: PLAN.classic.ofport }, under(tb.bridge, { dependsOn: after }));
}

/** The relay's VF bound to `driver`, and its representor on br0 marked as the seed marks it (offload). */
function relayVfPort(tb: TunnelBridge, vm: string, vf: number, driver: string) {
  const { binding, representor } = vfWithRepresentor(tb.host, vf, driver, `${tb.host.role}-${vm}-vf`, under(tb.group));
  const port = new Port(
    `${tb.host.role}-${vm}-port`,
    { host: tb.host.spec, bridge: tb.bridge.name, name: representor, ofportRequest: PLAN.offload.ofport, externalIds: { virtio_relay: "1" } },
    under(tb.bridge),
  );
  return { binding, port };
}

/** The lab: the stack starts a QEMU guest (and, offload, the relay emulation) in the lab host's namespace; its console is the way in. */
function labGuest(lab: Lab, i: number, tb: TunnelBridge, vm: string, config: StackConfig): GuestWiring {
  const labHost = lab.hosts[i];
  const dir = join(labHost.dir, vm);
  const address = `198.51.100.${i + 1}`;
  const guest = ["--dir", dir, "--netns", labHost.netns, "--mac", `02:00:c6:33:64:0${i + 1}`, "--address", `${address}/24`, "--mtu", String(config.innerMtu)];
  const files = guestFiles(dir);
  const processes: DatapathProcess[] = [{ name: `qemu ${vm}`, host: { kind: "local" }, pidfile: files.pidfile }];
  const endpoint = { console: files.console, address };
  /** `nic`: the guest's NIC for start; `stopToo`: what stop needs of it too (the relay it stops). */
  const start = (nic: string[], stopToo: string[], opts: pulumi.CustomResourceOptions) =>
    new command.local.Command(
      `${tb.host.role}-${vm}`,
      { create: shellQuote([...VM_CLI, "start", ...guest, ...nic]), delete: shellQuote([...VM_CLI, "stop", "--dir", dir, ...stopToo]), dir: PROJECT_ROOT },
      opts,
    );
  if (config.variant === "classic") {
    const started = start(["--tap", TAP], [], under(tb.group));
    return { port: tapPort(tb, vm, TAP, [started]), ready: [started], endpoint, processes };
  }
  const { binding, port } = relayVfPort(tb, vm, RELAY_VF, "nfp_uio");
  const relay = ["--relay-netns", lab.fabricNetns, "--relay-link", labHost.vfs[RELAY_VF].parked];
  const started = start(relay, relay, under(tb.group, { dependsOn: [binding] }));
  processes.push({ name: `relay ${vm}`, host: { kind: "local" }, pidfile: files.relayPidfile });
  return { port, ready: [started], endpoint, processes };
}

/** Real hosts: the guest and relay are the user's (config virtioRelay); the stack wires the tap or the relay's VF, and reaches the guest over SSH. */
function userGuest(tb: TunnelBridge, role: "host1" | "host2", vm: string, config: StackConfig): GuestWiring {
  const { spec } = tb.host;
  const side: GuestSide | undefined = config.virtioRelay?.[role];
  const nic = config.variant === "classic" ? side?.tap : side?.relayVf;
  // The config's check refuses this first; here for the types.
  if (!side || nic === undefined) throw new Error(virtioRelayIssues(config).map((i) => `${i.path.join(".")}: ${i.message}`).join("\n"));
  const processes: DatapathProcess[] = [
    ...(side.vmPidfile ? [{ name: `qemu ${vm}`, host: spec, pidfile: side.vmPidfile }] : []),
    ...(side.relayPidfile && config.variant === "offload" ? [{ name: `relay ${vm}`, host: spec, pidfile: side.relayPidfile }] : []),
  ];
  const endpoint = { exec: side.guest.ssh, address: side.guest.address };
  const port = typeof nic === "string" ? tapPort(tb, vm, nic) : relayVfPort(tb, vm, nic, side.relayDriver).port;
  return { port, ready: [], endpoint, processes };
}

export function virtioRelay(site: Site, config: StackConfig): ScenarioOutputs {
  const plan = PLAN[config.variant];
  const roles = ["host1", "host2"] as const;
  const endpoints: ScenarioOutputs["endpoints"] = {};
  const processes: DatapathProcess[] = [];
  const ports: RepresentorPorts = {};
  for (const [i, role] of roles.entries()) {
    const peer = hostIn(site, roles[1 - i]);
    const tb = tunnelBridge(hostIn(site, role));
    const vm = `vm${i + 1}`;
    const guest = site.lab ? labGuest(site.lab, i, tb, vm, config) : userGuest(tb, role, vm, config);
    ports[role] = [guest.port.name];
    new FlowSet(
      `${role}-flows`,
      {
        host: tb.host.spec, bridge: tb.bridge.name,
        flows: [
          { match: `in_port=${plan.ofport}`, actions: toTunnel(plan.tunId, peer.underlayIp) },
          { match: fromTunnel(plan.tunId, peer.underlayIp), actions: `output:${plan.ofport}` },
        ],
      },
      under(tb.bridge, { dependsOn: [tb.gre, guest.port, ...guest.ready] }),
    );
    endpoints[vm] = guest.endpoint;
    processes.push(...guest.processes);
  }
  const expectations: Expectation[] = [
    { kind: "reaches", from: "vm1", to: "vm2", why: `the VMs reach each other over tun_id ${plan.tunId}` },
    { kind: "throughput", from: "vm1", to: "vm2", atLeastMbps: 1, why: "TCP flows between the VMs" },
    { kind: "flowPackets", host: "host2", contains: [`tun_id=${hex(plan.tunId)}`, "in_port=1"], why: `host2 receives the VM traffic on tun_id ${plan.tunId}` },
  ];
  return {
    scenario: config.scenario, variant: config.variant, bridge: BRIDGE, hosts: hostSpecs(site, roles), endpoints, expectations,
    measure: { from: "vm1", to: "vm2" }, processes, ...offloadOutput(config.variant, ports),
  };
}
