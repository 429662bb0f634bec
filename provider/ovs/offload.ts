// Whether a datapath is in hardware, as two tools see it, parsed here and only here:
//   OVS: `ovs-appctl dpctl/dump-flows -m` — every datapath flow (type=all),
//     ports by name, and for each whether it is offloaded (`offloaded:yes`,
//     or `partial` where only the match is: DPDK's flow mark) and which
//     datapath layer holds it (`dp:ovs`, `dp:tc`, `dp:dpdk`). `type=offloaded`
//     would print the first kind alone; all of them is what tells "no flows"
//     from "flows, none offloaded", and one call does both.
//   TC: `tc -s filter show dev <representor> ingress` — the flower filters OVS
//     made from those flows (VF → wire: the representor's ingress), each
//     `in_hw` (with `in_hw_count`, iproute2 >= 4.19) or `not_in_hw`, and per
//     action "Sent hardware N bytes M pkt". Read as text, not `tc -j`: older
//     iproute2 printed parts of some filters and actions as bare text inside
//     its JSON (u32 in Debian 10's iproute2-ss190107,
//     iproute2/iproute2#31; police actions — OVS's offloaded meters — too),
//     while the text has kept its form across the versions SmartNIC hosts run.

/** Every datapath flow of the host's datapath, with port names and offload state. */
export function dumpDatapathFlowsArgv(): string[] {
  return ["ovs-appctl", "dpctl/dump-flows", "-m"];
}

export interface DatapathFlow {
  /** The port the flow matches packets from, by name. */
  inPort?: string;
  /** The flow's actions as OVS prints them. */
  actions: string;
  packets: number;
  /** `yes`: in hardware; `partial`: only the match is (DPDK); absent: not offloaded. */
  offloaded?: "yes" | "partial";
  /** The datapath layer that holds the flow: ovs, tc, dpdk (OVS >= 2.10 with -m). */
  dp?: string;
}

/** `dpctl/dump-flows -m` output; the "flow-dump from …" headings of the userspace datapath are not flows. */
export function parseDatapathFlows(stdout: string): DatapathFlow[] {
  const flows: DatapathFlow[] = [];
  for (const line of stdout.split("\n")) {
    const stats = /, packets:(\d+), bytes:\d+, used:[^,]+(.*?), actions:(.*)$/.exec(line);
    if (!stats) continue;
    const [, packets, annotations, rest] = stats;
    const offloaded = /, offloaded:(yes|partial)\b/.exec(annotations)?.[1] as DatapathFlow["offloaded"];
    const dp = /, dp:(\w+)/.exec(annotations)?.[1];
    const inPort = /(?:^|[ ,])in_port\(([^)]+)\)/.exec(line)?.[1];
    flows.push({
      ...(inPort !== undefined ? { inPort } : {}),
      // The userspace datapath prints ", dp-extra-info:…" after the actions.
      actions: rest.replace(/, dp-extra-info:.*$/, ""),
      packets: Number(packets),
      ...(offloaded ? { offloaded } : {}),
      ...(dp ? { dp } : {}),
    });
  }
  return flows;
}

/** Whether `flow` carries packets from or to the port named `port` (its match's in_port, or a port among its actions). */
function flowUses(flow: DatapathFlow, port: string): boolean {
  return flow.inPort === port || flow.actions.split(/[,()]/).includes(port);
}

export interface DatapathTally {
  /** Datapath flows through the ports. */
  flows: number;
  /** … of which in hardware (`offloaded:yes`), and their packets. */
  offloaded: number;
  offloadedPackets: number;
  /** … only partly in hardware (`offloaded:partial`). */
  partial: number;
  /** … in TC but not in hardware: TC's software datapath (tc-policy skip_hw, or the driver refused them). */
  tcSoftware: number;
}

/** The datapath flows that carry packets from or to any of `ports`, counted by where they are. */
export function tallyDatapath(flows: readonly DatapathFlow[], ports: readonly string[]): DatapathTally {
  const through = flows.filter((f) => ports.some((p) => flowUses(f, p)));
  const offloaded = through.filter((f) => f.offloaded === "yes");
  return {
    flows: through.length,
    offloaded: offloaded.length,
    offloadedPackets: offloaded.reduce((sum, f) => sum + f.packets, 0),
    partial: through.filter((f) => f.offloaded === "partial").length,
    tcSoftware: through.filter((f) => f.dp === "tc" && !f.offloaded).length,
  };
}

/** The TC filters on `dev`'s ingress, with their statistics. */
export function tcIngressFiltersArgv(dev: string): string[] {
  return ["tc", "-s", "filter", "show", "dev", dev, "ingress"];
}

export interface TcFilter {
  /** The "filter …" line, e.g. "filter protocol ip pref 2 flower chain 0 handle 0x1". */
  head: string;
  inHw: boolean;
  /** How many devices hold it in hardware, where iproute2 prints it. */
  inHwCount?: number;
  notInHw: boolean;
  /** Its first action's packets: all, and those counted by the hardware (absent without hardware statistics). */
  packets?: number;
  hwPackets?: number;
}

/**
 * `tc -s filter show … ingress` output. Each classifier prints a heading per
 * priority ("filter protocol ip pref 2 flower chain 0") before its filters,
 * each of which has a handle; the lines after a filter, up to the next
 * "filter" line, are its keys, flags and actions.
 */
export function parseTcFilters(stdout: string): TcFilter[] {
  const filters: TcFilter[] = [];
  let current: TcFilter | undefined;
  for (const raw of stdout.split("\n")) {
    const line = raw.trim();
    if (raw.startsWith("filter ")) {
      current = / handle \S+/.test(line) ? { head: line, inHw: false, notInHw: false } : undefined;
      if (current) filters.push(current);
      continue;
    }
    if (!current) continue;
    const inHw = /^in_hw(?: in_hw_count (\d+))?$/.exec(line);
    const sent = /^Sent (\d+) bytes (\d+) pkt\b/.exec(line);
    const hardware = /^Sent hardware \d+ bytes (\d+) pkt$/.exec(line);
    if (inHw) {
      current.inHw = true;
      if (inHw[1] !== undefined) current.inHwCount = Number(inHw[1]);
    } else if (line === "not_in_hw") current.notInHw = true;
    else if (sent && current.packets === undefined) current.packets = Number(sent[2]);
    else if (hardware && current.hwPackets === undefined) current.hwPackets = Number(hardware[1]);
  }
  return filters;
}

export interface TcTally {
  filters: number;
  inHw: number;
  notInHw: number;
  /** Packets the hardware counted, over the filters. */
  hwPackets: number;
}

export function tallyTc(filters: readonly TcFilter[]): TcTally {
  return {
    filters: filters.length,
    inHw: filters.filter((f) => f.inHw).length,
    notInHw: filters.filter((f) => f.notInHw).length,
    hwPackets: filters.reduce((sum, f) => sum + (f.hwPackets ?? 0), 0),
  };
}
