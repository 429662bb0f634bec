// `pulumi preview` needs no host: check and diff are pure, so a pull request
// can preview every change with nothing reachable, and bad input fails there.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { testStack, type TestStack } from "../support/stack.ts";

const host = { kind: "netns", netns: "ool-nowhere-at-all", ovsRundir: "/run/ovs-offload-lab/none/ovs" };
const spec = [
  { kind: "Bridge", name: "br", args: { host, name: "br0", datapathType: "netdev" } },
  { kind: "Port", name: "gre", args: { host, bridge: "br0", name: "gre", type: "gre", options: { remote_ip: "flow", key: "flow" }, ofportRequest: 1 } },
  { kind: "Meter", name: "m7", args: { host, bridge: "br0", meterId: 7, bands: [{ type: "drop", rate: 200000, burstSize: 50000 }] } },
  { kind: "FlowSet", name: "fs", args: { host, bridge: "br0", meters: ["m7"], flows: [{ match: "in_port=7", actions: "meter:7,output:1" }] } },
  { kind: "Flow", name: "ct", args: { host, bridge: "br0", table: 2, priority: 10, match: "ip,ct_state=-trk", actions: "ct(commit,zone=2,table=12)" } },
];

describe("preview with no host reachable", () => {
  let s: TestStack;
  beforeAll(async () => {
    s = await testStack("resources");
  });
  afterAll(() => s?.dispose());

  test("shows the plan", async () => {
    const preview = await s.preview(spec);
    expect(preview.changeSummary).toEqual({ create: 7 });
  });

  test.each([
    ["a port name over 15 bytes", 1, { name: "gre-tunnel-to-host2" }, /property name value \{gre-tunnel-to-host2\} has a problem: must be at most 15 bytes/],
    ["a shell metacharacter in a name", 0, { name: "br0;reboot" }, /property name .* must be letters, digits/],
    ["a flow whose match smuggles actions", 3, { flows: [{ match: "in_port=7 actions=output:2", actions: "drop" }] }, /flows\.0\.match .* no spaces/],
    ["a meter:N the flow does not declare", 3, { meters: [], flows: [{ match: "in_port=7", actions: "meter:7,output:1" }] }, /uses meter:7, which is not in meters/],
    ["ct(commit) without an IP match", 4, { match: "in_port=1" }, /ct\(\.\.\.\) needs an IP protocol/],
    ["a meter id of 0", 2, { meterId: 0 }, /property meterId value \{0\} has a problem/],
  ])("rejects %s in check", async (_what, index, change, message) => {
    const bad = spec.map((e, i) => (i === index ? { ...e, args: { ...e.args, ...change } } : e));
    await expect(s.preview(bad)).rejects.toThrow(message);
  });
});
