// The peer benchmark's topology as a Pulumi program of the provider's
// resources, on the hosts in config "hosts" (HostSpec[]). Copied with
// topology.ts into a temporary project by bench/peers/index.ts.
import * as pulumi from "@pulumi/pulumi";
import { Bridge, FlowSet, Meter, Port, type HostSpec } from "@ovs-offload-lab/provider";
import { BRIDGE, FLOWS, GRE, INTERNAL, METER } from "./topology.ts";

new pulumi.Config().requireObject<HostSpec[]>("hosts").forEach((host, i) => {
  const bridge = new Bridge(`br${i}`, { host, name: BRIDGE, datapathType: "netdev", failMode: "secure", protocols: ["OpenFlow13", "OpenFlow14"] });
  const gre = new Port(`gre${i}`, { host, bridge: bridge.name, name: GRE.name, type: "gre", options: GRE.options, ofportRequest: GRE.ofport });
  const internal = new Port(`int${i}`, { host, bridge: bridge.name, name: INTERNAL.name, type: "internal", mtuRequest: INTERNAL.mtu, ofportRequest: INTERNAL.ofport });
  const meter = new Meter(`meter${i}`, { host, bridge: bridge.name, ...METER });
  new FlowSet(`flows${i}`, { host, bridge: bridge.name, flows: FLOWS, meters: [meter.meterId] }, { dependsOn: [gre, internal] });
});
