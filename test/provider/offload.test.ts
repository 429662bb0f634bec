// What is in hardware, as `ovs-appctl dpctl/dump-flows -m` and `tc -s filter
// show … ingress` print it: on recorded output of the lab (OVS 3.1.0's
// userspace datapath, iproute2 6.1.0) and of real SmartNIC hosts (sources in
// test/fixtures/offload/README.md).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import {
  dumpDatapathFlowsArgv, parseDatapathFlows, parseTcFilters, tallyDatapath, tallyTc, tcIngressFiltersArgv,
} from "../../provider/ovs/offload.ts";

const recorded = (name: string) => readFileSync(join(import.meta.dirname, "../fixtures/offload", name), "utf8");

test("the commands", () => {
  expect(dumpDatapathFlowsArgv()).toMatchInlineSnapshot(`
    [
      "ovs-appctl",
      "dpctl/dump-flows",
      "-m",
    ]
  `);
  expect(tcIngressFiltersArgv("sdn_v0.0")).toMatchInlineSnapshot(`
    [
      "tc",
      "-s",
      "filter",
      "show",
      "dev",
      "sdn_v0.0",
      "ingress",
    ]
  `);
});

describe("dpctl/dump-flows -m", () => {
  test("the lab's userspace datapath: every flow in dp:ovs, none offloaded; the flow-dump heading is no flow", () => {
    const flows = parseDatapathFlows(recorded("dpctl-m-lab.txt"));
    expect(flows).toHaveLength(11);
    expect(flows.every((f) => f.dp === "ovs" && f.offloaded === undefined)).toBe(true);
    expect(flows[1]).toEqual({ inPort: "gre_sys", actions: "sdn_v0.0", packets: 6822, dp: "ovs" });
    // dp-extra-info after the actions is not an action.
    expect(flows.map((f) => f.actions)).not.toContainEqual(expect.stringContaining("dp-extra-info"));
  });

  test("flows through the representor: those from it (in_port) and those to it (an output)", () => {
    const flows = parseDatapathFlows(recorded("dpctl-m-lab.txt"));
    expect(tallyDatapath(flows, ["sdn_v0.0"])).toEqual({ flows: 6, offloaded: 0, offloadedPackets: 0, partial: 0, tcSoftware: 0 });
    // Ports named inside tnl_push(…) and after it count as outputs; a port name never matches part of another.
    expect(tallyDatapath(flows, ["ul0"]).flows).toBe(8);
    expect(tallyDatapath(flows, ["gre_sys"]).flows).toBe(7);
    expect(tallyDatapath(flows, ["sdn_v0"]).flows).toBe(0);
    expect(tallyDatapath(flows, ["sdn_v0.0", "ul0"]).flows).toBe(11);
  });

  test.each([
    ["dpctl-m-ovn-173.txt", 36],
    ["dpctl-m-ovn-207.txt", 2],
  ])("a flow in hardware (%s): offloaded:yes, dp:tc, its packets", (file, packets) => {
    const flows = parseDatapathFlows(recorded(file));
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({ inPort: "genev_sys_6081", packets, offloaded: "yes", dp: "tc" });
    expect(flows[0].actions).toMatch(/^set\(eth\(.*recirc\(0x[0-9a-f]+\)$/);
    expect(tallyDatapath(flows, ["genev_sys_6081"])).toEqual({ flows: 1, offloaded: 1, offloadedPackets: packets, partial: 0, tcSoftware: 0 });
    expect(tallyDatapath(flows, ["sdn_v0.0"]).flows).toBe(0);
  });
});

describe("tc -s filter show … ingress", () => {
  test("a filter in hardware: in_hw, its count, the hardware's packets; the priority's heading is no filter", () => {
    const filters = parseTcFilters(recorded("tc-ingress-lnst-341.txt"));
    expect(filters).toEqual([{ head: "filter protocol arp pref 49150 flower chain 0 handle 0x1", inHw: true, inHwCount: 1, notInHw: false, packets: 1, hwPackets: 1 }]);
    expect(tallyTc(filters)).toEqual({ filters: 1, inHw: 1, notInHw: 0, hwPackets: 1 });
  });

  test("the lab's representor, a veth with no ingress qdisc: nothing", () => {
    expect(parseTcFilters(recorded("tc-ingress-lab.txt"))).toEqual([]);
    expect(tallyTc([])).toEqual({ filters: 0, inHw: 0, notInHw: 0, hwPackets: 0 });
  });

  test("a filter TC keeps in software: not_in_hw, no hardware counters (the recorded output edited to that form, see the README)", () => {
    const edited = recorded("tc-ingress-lnst-341.txt")
      .replace("  skip_sw\n  in_hw in_hw_count 1\n", "  not_in_hw\n")
      .replace("\tSent software 0 bytes 0 pkt\n\tSent hardware 60 bytes 1 pkt\n", "");
    const filters = parseTcFilters(edited);
    expect(filters).toEqual([{ head: "filter protocol arp pref 49150 flower chain 0 handle 0x1", inHw: false, notInHw: true, packets: 1 }]);
    expect(tallyTc(filters)).toEqual({ filters: 1, inHw: 0, notInHw: 1, hwPackets: 0 });
  });
});
