// Scenarios 3 and 4 of the seed: two application namespaces ns1 and ns2 on
// host1 talk only through the gateway. Each sends to the gateway's MAC
// fa:ff:ff:ff:ff:ff, host1 tunnels that to the gateway, and the gateway sends
// it back out the port it came in by (output:in_port) to the other namespace.
//   gateway-forward: the gateway hairpins by nw_dst.
//   gateway-firewall: the gateway runs conntrack: ns1 may open connections to
//   ns2, ns2 may not open any to ns1. Unlike the seed's flows, allowed new
//   connections are committed (ct(commit)) so their replies are +est.
// Classic: internal ports internal1/internal2 (ofports 11/12), tun_id 1000,
// zone 2, tables 2 and 12. Offload: VFs 0/1, their representors (sdn_v0.0/
// sdn_v0.1 on the lab) ofports 21/22, tun_id 2000, zone 1, tables 1 and 11 —
// one tun_id per path.
import { FlowSet } from "@ovs-offload-lab/provider";
import type { Site, StackConfig, Variant } from "../config.ts";
import { offloadOutput, type Expectation, type ScenarioOutputs } from "../expectations.ts";
import { BRIDGE, endpoint, fromTunnel, hostIn, hostSpecs, toTunnel, tunnelBridge, under, type EndpointSpec } from "../parts.ts";

export const GATEWAY_MAC = "fa:ff:ff:ff:ff:ff";

const PLAN = {
  classic: { tunId: 1000, ofports: [11, 12], zone: 2, ctTable: 2, denyTable: 12 },
  offload: { tunId: 2000, ofports: [21, 22], zone: 1, ctTable: 1, denyTable: 11 },
} as const satisfies Record<Variant, unknown>;

/** ns1 in 198.51.100.0/24 and ns2 in 203.0.113.0/24, each routed via the gateway's MAC. */
function namespaces(variant: Variant): EndpointSpec[] {
  const nets = [
    { net: "198.51.100", other: "203.0.113.0/24" },
    { net: "203.0.113", other: "198.51.100.0/24" },
  ];
  return nets.map(({ net, other }, i) => ({
    name: `ns${i + 1}`, ofport: PLAN[variant].ofports[i], internalPort: `internal${i + 1}`, vf: i,
    address: `${net}.1/24`, mac: `02:00:00:00:00:0${i + 1}`,
    routes: [{ to: other, via: `${net}.254` }], neighbours: [{ ip: `${net}.254`, mac: GATEWAY_MAC }],
  }));
}

function gatewayScenario(site: Site, config: StackConfig, firewall: boolean): ScenarioOutputs {
  const plan = PLAN[config.variant];
  const [host, gw] = [hostIn(site, "host1"), hostIn(site, "gateway")];
  const hostBridge = tunnelBridge(host);
  const gwBridge = tunnelBridge(gw);
  const specs = namespaces(config.variant);
  const built = specs.map((e) => endpoint(site, hostBridge, config.variant, e, config.innerMtu));
  const ip = (e: EndpointSpec) => e.address.split("/")[0];

  new FlowSet(
    "host1-flows",
    {
      host: host.spec, bridge: hostBridge.bridge.name,
      flows: specs.flatMap((e) => [
        { match: `in_port=${e.ofport},dl_dst=${GATEWAY_MAC}`, actions: toTunnel(plan.tunId, gw.underlayIp) },
        { match: `ip,${fromTunnel(plan.tunId, gw.underlayIp)},nw_dst=${ip(e)}`, actions: `mod_dl_dst:${e.mac},output:${e.ofport}` },
      ]),
    },
    under(hostBridge.bridge, { dependsOn: [hostBridge.gre, ...built.map((b) => b.port)] }),
  );

  const back = toTunnel(plan.tunId, host.underlayIp, "output:in_port");
  const [ns1, ns2] = specs.map(ip);
  const gatewayFlows = firewall
    ? [
        ...[ns1, ns2].map((dst) => ({ match: `ip,${fromTunnel(plan.tunId, host.underlayIp)},nw_dst=${dst},ct_state=-trk`, actions: `ct(table=${plan.ctTable},zone=${plan.zone})` })),
        { table: plan.ctTable, match: `ip,nw_dst=${ns2},ct_state=+new+trk`, actions: `ct(commit,zone=${plan.zone}),${back}` },
        { table: plan.ctTable, match: `ip,nw_dst=${ns2},ct_state=+est+trk`, actions: back },
        { table: plan.ctTable, match: `ip,nw_dst=${ns1},ct_state=+est+trk`, actions: back },
        { table: plan.ctTable, match: `ip,nw_dst=${ns1},ct_state=+new+trk`, actions: `resubmit(,${plan.denyTable})` },
        { table: plan.denyTable, priority: 0, actions: "drop" },
      ]
    : [ns1, ns2].map((dst) => ({ match: `ip,${fromTunnel(plan.tunId, host.underlayIp)},nw_dst=${dst}`, actions: back }));
  new FlowSet("gateway-flows", { host: gw.spec, bridge: gwBridge.bridge.name, flows: gatewayFlows }, under(gwBridge.bridge, { dependsOn: [gwBridge.gre] }));

  const endpoints = Object.fromEntries(specs.map((e, i) => [e.name, built[i].endpoint]));
  const hairpin: Expectation = { kind: "flowPackets", host: "gateway", contains: ["IN_PORT"], why: "the traffic turns at the gateway (output:in_port)" };
  const expectations: Expectation[] = firewall
    ? [
        { kind: "reaches", from: "ns1", to: "ns2", why: "ns1 reaches ns2 through the gateway" },
        { kind: "tcp", from: "ns1", to: "ns2", connects: true, why: "ns1 may open connections to ns2" },
        { kind: "tcp", from: "ns2", to: "ns1", connects: false, why: "ns2 may not open connections to ns1" },
        hairpin,
        { kind: "flowPackets", host: "gateway", contains: [`table=${plan.denyTable}`, "actions=drop"], why: "the firewall dropped ns2's new connection" },
        { kind: "conntrack", host: "gateway", zone: plan.zone, why: `the gateway tracks the connections in zone ${plan.zone}` },
      ]
    : [
        { kind: "reaches", from: "ns1", to: "ns2", why: "ns1 reaches ns2 through the gateway" },
        { kind: "reaches", from: "ns2", to: "ns1", why: "ns2 reaches ns1 through the gateway" },
        { kind: "throughput", from: "ns1", to: "ns2", atLeastMbps: 1, why: "TCP flows through the hairpin" },
        hairpin,
      ];
  return {
    scenario: config.scenario, variant: config.variant, bridge: BRIDGE, hosts: hostSpecs(site, ["host1", "gateway"]), endpoints, expectations,
    measure: { from: "ns1", to: "ns2" }, ...offloadOutput(config.variant, { host1: built.map((b) => b.port.name) }),
  };
}

export const gatewayForward = (site: Site, config: StackConfig) => gatewayScenario(site, config, false);
export const gatewayFirewall = (site: Site, config: StackConfig) => gatewayScenario(site, config, true);
