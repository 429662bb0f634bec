// Scenarios 1 and 2 of the seed: an application endpoint on host1 and one on
// host2, joined by GRE tun_id 1000 between the hosts' br0.
//   internal-vs-netvf: classic, an OVS internal port; offload, a VF netdev
//   (nfp_netvf) whose representor (sdn_v0.0 on the lab) is the port — both ofport 7.
//   meter: the same path with meter 7 (kbps, burst, drop above 200 Mbit/s)
//   on host1's in_port=7 flow. The seed found no meters in classic OVS; the
//   lab's userspace datapath has them, so both variants carry the meter.
import { FlowSet, Meter } from "@ovs-offload-lab/provider";
import type { Site, StackConfig } from "../config.ts";
import { offloadOutput, type Expectation, type RepresentorPorts, type ScenarioOutputs } from "../expectations.ts";
import { BRIDGE, endpoint, fromTunnel, hostIn, hostSpecs, toTunnel, tunnelBridge, under, type EndpointSpec } from "../parts.ts";

const TUN_ID = 1000;
const APP_OFPORT = 7;
export const METER = { id: 7, rateKbps: 200_000, burstSizeKb: 50_000 };

const app = (n: 1 | 2): EndpointSpec => ({
  name: `app${n}`, ofport: APP_OFPORT, internalPort: "internal", vf: 0, address: `198.51.100.${n}/24`, mac: `02:00:c6:33:64:0${n}`,
});

function pointToPoint(site: Site, config: StackConfig, metered: boolean): ScenarioOutputs {
  const [h1, h2] = [hostIn(site, "host1"), hostIn(site, "host2")];
  const sides = [
    { tb: tunnelBridge(h1), e: app(1), peer: h2 },
    { tb: tunnelBridge(h2), e: app(2), peer: h1 },
  ];
  const endpoints: ScenarioOutputs["endpoints"] = {};
  const ports: RepresentorPorts = {};
  for (const [i, { tb, e, peer }] of sides.entries()) {
    const ep = endpoint(site, tb, config.variant, e, config.innerMtu);
    endpoints[e.name] = ep.endpoint;
    ports[tb.host.role] = [ep.port.name];
    const meter =
      metered && i === 0
        ? new Meter(
            `${tb.host.role}-meter${METER.id}`,
            {
              host: tb.host.spec, bridge: tb.bridge.name, meterId: METER.id, unit: "kbps", burst: true,
              bands: [{ type: "drop", rate: METER.rateKbps, burstSize: METER.burstSizeKb }],
            },
            under(tb.bridge),
          )
        : undefined;
    new FlowSet(
      `${tb.host.role}-flows`,
      {
        host: tb.host.spec, bridge: tb.bridge.name, meters: meter ? [meter.meterId] : [],
        flows: [
          { match: `in_port=${e.ofport}`, actions: `${meter ? `meter:${METER.id},` : ""}${toTunnel(TUN_ID, peer.underlayIp)}` },
          { match: fromTunnel(TUN_ID, peer.underlayIp), actions: `output:${e.ofport}` },
        ],
      },
      under(tb.bridge, { dependsOn: [tb.gre, ep.port] }),
    );
  }
  const expectations: Expectation[] = [
    { kind: "reaches", from: "app1", to: "app2", why: "the endpoints reach each other across GRE" },
    metered
      ? { kind: "throughput", from: "app1", to: "app2", atMostMbps: Math.round(METER.rateKbps * 1.1) / 1000, atLeastMbps: 1, why: "meter 7 caps host1's traffic near 200 Mbit/s" }
      : { kind: "throughput", from: "app1", to: "app2", atLeastMbps: 1, why: "TCP flows across the tunnel" },
    { kind: "flowPackets", host: "host2", contains: [`tun_id=${hex(TUN_ID)}`, "in_port=1"], why: `host2 receives the traffic on tun_id ${TUN_ID}` },
  ];
  return {
    scenario: config.scenario, variant: config.variant, bridge: BRIDGE, hosts: hostSpecs(site, ["host1", "host2"]), endpoints, expectations,
    measure: { from: "app1", to: "app2" }, ...(metered ? { meterRateMbps: METER.rateKbps / 1000 } : {}), ...offloadOutput(config.variant, ports),
  };
}

/** How ovs-ofctl prints a tunnel id in a match. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

export const internalVsNetvf = (site: Site, config: StackConfig) => pointToPoint(site, config, false);
export const meter = (site: Site, config: StackConfig) => pointToPoint(site, config, true);
