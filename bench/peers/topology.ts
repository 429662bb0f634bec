// The peer benchmark's topology, one copy for every tool: on each host a
// netdev bridge (fail_mode secure), a GRE port (remote_ip=flow key=flow), an
// internal port with mtu_request, meter 7 and two flows.
export const BRIDGE = "brpeer";
export const GRE = { name: "gre0", ofport: 1, options: { remote_ip: "flow", key: "flow" } };
export const INTERNAL = { name: "int0", ofport: 2, mtu: 1400 };
export const METER = { meterId: 7, unit: "kbps" as const, bands: [{ type: "drop" as const, rate: 200_000 }] };
export const FLOWS = [
  { table: 0, priority: 100, match: `in_port=${INTERNAL.ofport}`, actions: `meter:${METER.meterId},output:${GRE.ofport}` },
  { table: 0, priority: 100, match: `in_port=${GRE.ofport}`, actions: `output:${INTERNAL.ofport}` },
];
