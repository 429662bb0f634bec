// Scenario 5 of the seed: a VM on host1 and one on host2, joined by GRE.
//   classic: the VM's NIC is tap vnet1, ofport 31 on br0; tun_id 3000.
//   offload: the VM's NIC is served by virtio-relay, which forwards between
//   it and VF 21 bound to nfp_uio; the VF's representor (found in sysfs:
//   sdn_v0.21 on the lab) is ofport 41 with external_ids:virtio_relay=1;
//   tun_id 4000.
// The VMs are real QEMU guests (vm/); the relay is a lab EMULATION of
// Netronome's (vm/relay.py), so this scenario builds on the lab only.
import { join } from "node:path";
import * as command from "@pulumi/command";
import { FlowSet, Port } from "@ovs-offload-lab/provider";
import { shellQuote } from "../../provider/host.ts";
import { guestFiles } from "../../vm/guest.ts";
import type { Site, StackConfig } from "../config.ts";
import { offloadOutput, type DatapathProcess, type Expectation, type RepresentorPorts, type ScenarioOutputs } from "../expectations.ts";
import { BRIDGE, fromTunnel, hostIn, hostSpecs, toTunnel, tunnelBridge, under, vfWithRepresentor } from "../parts.ts";
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

export function virtioRelay(site: Site, config: StackConfig): ScenarioOutputs {
  const lab = site.lab;
  if (!lab) throw new Error("virtio-relay builds on the lab only: its VMs and the relay are the lab's (remove hosts from the stack's config)");
  const plan = PLAN[config.variant];
  const roles = ["host1", "host2"] as const;
  const endpoints: ScenarioOutputs["endpoints"] = {};
  const processes: DatapathProcess[] = [];
  const ports: RepresentorPorts = {};
  for (const [i, role] of roles.entries()) {
    const host = hostIn(site, role);
    const peer = hostIn(site, roles[1 - i]);
    const labHost = lab.hosts[i];
    const tb = tunnelBridge(host);
    const vm = `vm${i + 1}`;
    const dir = join(labHost.dir, vm);
    const guest = ["--dir", dir, "--netns", labHost.netns, "--mac", `02:00:c6:33:64:0${i + 1}`, "--address", `198.51.100.${i + 1}/24`, "--mtu", String(config.innerMtu)];
    let port: Port;
    let started: command.local.Command;
    if (config.variant === "classic") {
      started = new command.local.Command(
        `${role}-${vm}`,
        {
          create: shellQuote([...VM_CLI, "start", ...guest, "--tap", TAP]),
          delete: shellQuote([...VM_CLI, "stop", "--dir", dir]),
          dir: PROJECT_ROOT,
        },
        under(tb.group),
      );
      port = new Port(`${role}-${vm}-port`, { host: host.spec, bridge: tb.bridge.name, name: TAP, ofportRequest: plan.ofport }, under(tb.bridge, { dependsOn: [started] }));
    } else {
      const vf = vfWithRepresentor(host, RELAY_VF, "nfp_uio", `${role}-${vm}-vf`, under(tb.group));
      const relay = ["--relay-netns", lab.fabricNetns, "--relay-link", labHost.vfs[RELAY_VF].parked];
      started = new command.local.Command(
        `${role}-${vm}`,
        {
          create: shellQuote([...VM_CLI, "start", ...guest, ...relay]),
          delete: shellQuote([...VM_CLI, "stop", "--dir", dir, ...relay]),
          dir: PROJECT_ROOT,
        },
        under(tb.group, { dependsOn: [vf.binding] }),
      );
      port = new Port(
        `${role}-${vm}-port`,
        { host: host.spec, bridge: tb.bridge.name, name: vf.representor, ofportRequest: plan.ofport, externalIds: { virtio_relay: "1" } },
        under(tb.bridge),
      );
    }
    ports[role] = [port.name];
    new FlowSet(
      `${role}-flows`,
      {
        host: host.spec, bridge: tb.bridge.name,
        flows: [
          { match: `in_port=${plan.ofport}`, actions: toTunnel(plan.tunId, peer.underlayIp) },
          { match: fromTunnel(plan.tunId, peer.underlayIp), actions: `output:${plan.ofport}` },
        ],
      },
      under(tb.bridge, { dependsOn: [tb.gre, port, started] }),
    );
    const files = guestFiles(dir);
    endpoints[vm] = { console: files.console, address: `198.51.100.${i + 1}` };
    processes.push({ name: `qemu ${vm}`, host: { kind: "local" }, pidfile: files.pidfile });
    if (config.variant === "offload") processes.push({ name: `relay ${vm}`, host: { kind: "local" }, pidfile: files.relayPidfile });
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
