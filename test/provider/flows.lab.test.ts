// Port, Meter and FlowSet through the real engine on a lab host: lifecycle,
// drift, the meter rule, ownership between stacks.
import { describe, expect, test } from "vitest";
import { exec } from "../../provider/host.ts";
import { dumpFlowsArgv } from "../../provider/ovs/ofctl.ts";
import { labLayout } from "../../lab/layout.ts";
import { hostSnapshot, testLabName } from "../support/machine.ts";
import { testStack, useLabStack } from "../support/stack.ts";

const lab = labLayout(testLabName(), 2);
const host = lab.hosts[0].spec;
const run = (argv: string[]) => exec(host, argv).then((r) => r.stdout.trim());
const vsctl = (...args: string[]) => run(["ovs-vsctl", "--timeout=5", ...args]);
const ofctl = (...args: string[]) => run(["ovs-ofctl", "-O", "OpenFlow14", ...args]);
const flowsOn = async (bridge: string) =>
  (await exec(host, dumpFlowsArgv(bridge))).stdout.split("\n").filter((l) => l.startsWith(" ")).map((l) => l.trim().replace(/^cookie=0x[0-9a-f]+, /, "")).sort();
const meters = async (bridge: string) => (await run(["ovs-ofctl", "-O", "OpenFlow13", "dump-meters", bridge])).split("\n").filter((l) => l.startsWith("meter=") || l.startsWith("type="));

const bridge = { kind: "Bridge", name: "br", args: { host, name: "br0", datapathType: "netdev", failMode: "secure" } };
const ports = [
  { kind: "Port", name: "gre", args: { host, bridge: "br0", name: "gre", type: "gre", options: { remote_ip: "flow", key: "flow" }, ofportRequest: 1 }, dependsOn: ["br"] },
  { kind: "Port", name: "internal", args: { host, bridge: "br0", name: "internal", type: "internal", ofportRequest: 7 }, dependsOn: ["br"] },
];
const meter = (args: Record<string, unknown> = {}) => ({
  kind: "Meter", name: "m7", dependsOn: ["br"],
  args: { host, bridge: "br0", meterId: 7, unit: "kbps", bands: [{ type: "drop", rate: 200000, burstSize: 50000 }], ...args },
});
// The seed's meter scenario, spelled as the seed spells it (OVS rewrites set_tunnel and the bare port).
const seedFlows = (meterId = 7) => ({
  kind: "FlowSet", name: "tunnel", dependsOn: ["gre", "internal"],
  args: {
    host, bridge: "br0", meters: ["m7"],
    flows: [
      { match: "in_port=7", actions: `meter:${meterId},set_tunnel:1000,set_field:192.0.2.2->tun_dst,output:1` },
      { match: "in_port=1,tun_src=192.0.2.2,tun_id=1000", actions: "7" },
    ],
  },
});

describe("ports, meters and flows", () => {
  const ctx = useLabStack(lab, host);

  test("the seed's meter scenario goes up; a second up changes nothing", async () => {
    const up = await ctx.s.up([bridge, ...ports, meter(), seedFlows()]);
    expect(up.summary.resourceChanges).toEqual({ create: 7 });
    expect(await vsctl("get", "Interface", "internal", "ofport")).toBe("7");
    expect(up.outputs.gre.value.ofport).toBe(1);
    expect(await flowsOn("br0")).toEqual([
      "in_port=7 actions=meter:7,set_field:0x3e8->tun_id,set_field:192.0.2.2->tun_dst,output:1",
      "tun_id=0x3e8,tun_src=192.0.2.2,in_port=1 actions=output:7",
    ]);
    expect((await ctx.s.up([bridge, ...ports, meter(), seedFlows()])).summary.resourceChanges).toEqual({ same: 7 });
    // OVS's canonical spelling differs from ours: refresh must not see that as drift.
    await ctx.s.refresh();
    expect((await ctx.s.preview([bridge, ...ports, meter(), seedFlows()])).changeSummary).toEqual({ same: 7 });
  });

  test("a port's MTU changes in place; its type replaces it", async () => {
    const mtu = [ports[0], { ...ports[1], args: { ...ports[1].args, mtuRequest: 1450 } }];
    expect((await ctx.s.up([bridge, ...mtu, meter(), seedFlows()])).summary.resourceChanges).toEqual({ same: 6, update: 1 });
    expect(await vsctl("get", "Interface", "internal", "mtu_request")).toBe("1450");
    const tap = [ports[0], { ...ports[1], args: { ...ports[1].args, type: "tap" } }];
    const preview = await ctx.s.preview([bridge, ...tap, meter(), seedFlows()]);
    expect(preview.changeSummary).toEqual({ same: 6, replace: 1 });
    expect((await ctx.s.up([bridge, ...ports, meter(), seedFlows()])).summary.resourceChanges).toEqual({ same: 6, update: 1 });
    expect(await vsctl("get", "Interface", "internal", "mtu_request")).toBe("[]");
  });

  test("meter bands change in place with mod-meter: the flows stay, nothing is replaced", async () => {
    const before = await flowsOn("br0");
    const preview = await ctx.s.preview([bridge, ...ports, meter({ bands: [{ type: "drop", rate: 100000, burstSize: 50000 }] }), seedFlows()]);
    expect(preview.changeSummary).toEqual({ same: 6, update: 1 });
    await ctx.s.up([bridge, ...ports, meter({ bands: [{ type: "drop", rate: 100000, burstSize: 50000 }] }), seedFlows()]);
    expect(await meters("br0")).toEqual(["meter=7 kbps burst bands=", "type=drop rate=100000 burst_size=50000"]);
    expect(await flowsOn("br0")).toEqual(before);
  });

  test("the meter rule: a replaced meter takes its flows down first and brings them back after", async () => {
    const next = [bridge, ...ports, meter({ meterId: 9 }), seedFlows(9)];
    const preview = await ctx.s.preview(next);
    expect(preview.changeSummary).toEqual({ same: 5, replace: 2 });
    expect(preview.stdout).toMatch(/\+-pulumi-nodejs:dynamic\/ovs-offload-lab:FlowSet: \(replace\)/);
    await ctx.s.up(next);
    expect(await meters("br0")).toEqual(["meter=9 kbps burst bands=", "type=drop rate=200000 burst_size=50000"]);
    expect(await flowsOn("br0")).toEqual([
      "in_port=7 actions=meter:9,set_field:0x3e8->tun_id,set_field:192.0.2.2->tun_dst,output:1",
      "tun_id=0x3e8,tun_src=192.0.2.2,in_port=1 actions=output:7",
    ]);
  });

  test("a meter deleted by hand takes its flow with it; refresh finds both, up restores meter then flows", async () => {
    const spec = [bridge, ...ports, meter({ meterId: 9 }), seedFlows(9)];
    await run(["ovs-ofctl", "-O", "OpenFlow13", "del-meter", "br0", "meter=9"]);
    expect(await flowsOn("br0")).toEqual(["tun_id=0x3e8,tun_src=192.0.2.2,in_port=1 actions=output:7"]);
    const refreshed = await ctx.s.refresh();
    expect(refreshed.summary.resourceChanges).toMatchObject({ delete: 1, update: 1 });
    const up = await ctx.s.up(spec);
    expect(up.summary.resourceChanges).toEqual({ same: 5, create: 1, update: 1 });
    expect(await flowsOn("br0")).toHaveLength(2);
    expect(await meters("br0")).toHaveLength(2);
  });

  test("a flow deleted by hand is drift: refresh shows it, up puts it back", async () => {
    const spec = [bridge, ...ports, meter({ meterId: 9 }), seedFlows(9)];
    await ofctl("--strict", "del-flows", "br0", "priority=32768,in_port=1,tun_src=192.0.2.2,tun_id=1000");
    await ctx.s.refresh();
    expect((await ctx.s.preview(spec)).changeSummary).toEqual({ same: 6, update: 1 });
    await ctx.s.up(spec);
    expect(await flowsOn("br0")).toHaveLength(2);
  });

  test("a flow OVS rejects fails the whole bundle: the table stays as it was, and the error says why", async () => {
    const before = await flowsOn("br0");
    const bad = seedFlows(9);
    bad.args.flows = [...bad.args.flows, { match: "in_port=2", actions: "group:5" }];
    await expect(ctx.s.up([bridge, ...ports, meter({ meterId: 9 }), bad])).rejects.toThrow(/OFPBAC_BAD_OUT_GROUP for: .*ADD in_port=2 .*actions=group:5/);
    expect(await flowsOn("br0")).toEqual(before);
  });

  test("another stack on the same bridge: neither disturbs the other's flows; a clash is refused", async () => {
    const other = await testStack("resources", { stackName: "other" });
    try {
      const theirs = (match: string) => [{ kind: "FlowSet", name: "extra", args: { host, bridge: "br0", flows: [{ priority: 5, match, actions: "drop" }] } }];
      await other.up(theirs("in_port=2"));
      expect(await flowsOn("br0")).toHaveLength(3);
      await ctx.s.up([bridge, ...ports, meter({ meterId: 9 }), seedFlows(9)]); // ours, unchanged
      expect(await flowsOn("br0")).toContain("priority=5,in_port=2 actions=drop");
      await other.up(theirs("in_port=3"));
      expect(await flowsOn("br0")).toHaveLength(3);
      const clash = [{ kind: "FlowSet", name: "clash", args: { host, bridge: "br0", flows: [{ match: "in_port=7", actions: "drop" }] } }];
      await expect(other.up(clash)).rejects.toThrow(/already has flows of another owner .*in_port=7/);
      await other.destroy();
      expect(await flowsOn("br0")).toHaveLength(2);
    } finally {
      await other.dispose();
    }
  });

  test("foreign flows with flags, importance or timeouts are clashes too: refused, and left as they were", async () => {
    // Added by hand (cookie 0), each with what dump-flows prints before the match with no comma after it.
    const foreign = [
      "priority=5,in_port=4,send_flow_rem actions=drop",
      "priority=6,in_port=4,check_overlap,reset_counts actions=drop",
      "priority=7,in_port=4,no_packet_counts,no_byte_counts,importance=3 actions=drop",
      "table=2,priority=8,ip,nw_dst=198.51.100.9,idle_timeout=3600,hard_timeout=7200,send_flow_rem actions=drop",
      "table=3,tcp,tp_dst=80,send_flow_rem actions=drop",
      "table=4,send_flow_rem,check_overlap actions=drop",
    ];
    const other = await testStack("resources", { stackName: "flagged" });
    try {
      for (const flow of foreign) await ofctl("add-flow", "br0", flow);
      const before = await flowsOn("br0");
      expect(before).toEqual(expect.arrayContaining(["send_flow_rem priority=5,in_port=4 actions=drop", "table=4, send_flow_rem check_overlap actions=drop"]));
      const same = [
        { priority: 5, match: "in_port=4", actions: "output:1" },
        { priority: 6, match: "in_port=4", actions: "output:1" },
        { priority: 7, match: "in_port=4", actions: "output:1" },
        { table: 2, priority: 8, match: "ip,nw_dst=198.51.100.9", actions: "output:1" },
        { table: 3, match: "tcp,tp_dst=80", actions: "output:1" },
        { table: 4, actions: "output:1" },
      ];
      const clash = (flows: typeof same) => [{ kind: "FlowSet", name: "clash", args: { host, bridge: "br0", flows } }];
      await expect(other.up(clash(same.slice(0, 1)))).rejects.toThrow(/already has flows of another owner .*: cookie=0x0 table=0,priority=5,in_port=4 actions=drop;/);
      expect(await flowsOn("br0")).toEqual(before);
      await expect(other.up(clash(same))).rejects.toThrow(/already has flows of another owner .* \(and 3 more\)/);
      expect(await flowsOn("br0")).toEqual(before);
    } finally {
      await other.dispose();
      await ofctl("del-flows", "br0", "cookie=0/-1");
    }
    expect(await flowsOn("br0")).toHaveLength(2);
  });

  test("destroy leaves the host as before: no bridge, port, meter, flow or external_ids left", async () => {
    await ctx.s.destroy();
    expect(await hostSnapshot(host)).toEqual(ctx.before);
  });
});
