// OvsConfig through the real engine on a lab host's Open vSwitch: keys set
// and owned, values they had put back, drift repaired, another stack's key
// refused; and restart-ovs, the opt-in restart its restartNeeded asks for.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exec } from "../../provider/host.ts";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { ovsDaemonPid } from "../../lab/ovs.ts";
import { restartOvs } from "../../runner/restart.ts";
import { hostSnapshot, testLabName } from "../support/machine.ts";
import { testStack, useLabStack, type TestStack } from "../support/stack.ts";

const lab = labLayout(testLabName(), 1);
const host = lab.hosts[0].spec;
const vsctl = (...args: string[]) => exec(host, ["ovs-vsctl", "--timeout=5", ...args]).then((r) => r.stdout.trim());
/** The Open_vSwitch row's other_config and our marks in its external_ids. */
async function row() {
  const map = async (column: string) => JSON.parse((await vsctl("--format=json", "--columns", column, "list", "Open_vSwitch", ".")))?.data[0][0][1] as [string, string][];
  return {
    otherConfig: Object.fromEntries(await map("other_config")),
    marks: Object.fromEntries((await map("external_ids")).filter(([k]) => k.startsWith("ovs-offload-lab."))),
  };
}
const config = (name: string, otherConfig: Record<string, string>) => ({ kind: "OvsConfig", name, args: { host, otherConfig } });

describe("OvsConfig", () => {
  let s: TestStack;
  let before: Awaited<ReturnType<typeof row>>;
  beforeAll(async () => {
    await labUp(lab, () => {});
    // A value that was there before the stack: it must come back.
    await vsctl("set", "Open_vSwitch", ".", "other_config:max-idle=12345");
    before = await row();
    s = await testStack("resources");
  });
  afterAll(async () => {
    await s?.dispose();
    await labDown(lab, () => {});
  });

  test("sets the keys in one transaction with its marks; a second up changes nothing", async () => {
    const up = await s.up([config("ovs", { "hw-offload": "true", "max-idle": "30000", "dpdk-socket-mem": "1024,1024" })]);
    expect(up.summary.resourceChanges).toEqual({ create: 3 });
    const now = await row();
    expect(now.otherConfig).toMatchObject({ "hw-offload": "true", "max-idle": "30000", "dpdk-socket-mem": "1024,1024" });
    const owner = now.marks["ovs-offload-lab.other_config.hw-offload"];
    expect(owner).toMatch(/^resources-check\/test\/OvsConfig\/ovs\/[0-9a-f]{16}$/);
    expect(now.marks).toEqual({
      "ovs-offload-lab.other_config.hw-offload": owner,
      "ovs-offload-lab.other_config.max-idle": owner,
      "ovs-offload-lab.other_config.max-idle.was": "12345",
      "ovs-offload-lab.other_config.dpdk-socket-mem": owner,
    });
    // Turning hw-offload on takes effect at once; dpdk-socket-mem waits for a restart.
    expect(up.outputs.ovs.value.restartNeeded).toEqual(["dpdk-socket-mem"]);
    expect((await s.up([config("ovs", { "hw-offload": "true", "max-idle": "30000", "dpdk-socket-mem": "1024,1024" })])).summary.resourceChanges).toEqual({ same: 3 });
  });

  test("an update that drops a key gives it back the value it had", async () => {
    const up = await s.up([config("ovs", { "hw-offload": "true", "tc-policy": "skip_sw" })]);
    expect(up.summary.resourceChanges).toEqual({ same: 2, update: 1 });
    const now = await row();
    expect(now.otherConfig["max-idle"]).toBe("12345");
    expect(now.otherConfig["dpdk-socket-mem"]).toBeUndefined();
    expect(now.otherConfig["tc-policy"]).toBe("skip_sw");
    expect(Object.keys(now.marks).sort()).toEqual(["ovs-offload-lab.other_config.hw-offload", "ovs-offload-lab.other_config.tc-policy"]);
    expect(up.outputs.ovs.value.restartNeeded).toEqual(["tc-policy", "dpdk-socket-mem"]);
  });

  test("a value changed by hand is drift: refresh finds it, up sets it again", async () => {
    await vsctl("set", "Open_vSwitch", ".", "other_config:tc-policy=none");
    await s.refresh();
    expect((await s.preview([config("ovs", { "hw-offload": "true", "tc-policy": "skip_sw" })])).changeSummary).toEqual({ same: 2, update: 1 });
    await s.up([config("ovs", { "hw-offload": "true", "tc-policy": "skip_sw" })]);
    expect((await row()).otherConfig["tc-policy"]).toBe("skip_sw");
  });

  test("a key another resource owns is refused, naming its owner, and left as it is", async () => {
    await expect(s.up([config("ovs", { "hw-offload": "true", "tc-policy": "skip_sw" }), config("other", { "hw-offload": "false" })])).rejects.toThrow(
      /other_config:hw-offload of Open vSwitch on netns \S+ is owned by resources-check\/test\/OvsConfig\/ovs\//,
    );
    expect((await row()).otherConfig["hw-offload"]).toBe("true");
  });

  test("destroy gives every key back: the row is as it was before the stack", async () => {
    await s.destroy();
    expect(await row()).toEqual(before);
  });
});

describe("restart-ovs", () => {
  const ctx = useLabStack(lab, host);
  const spec = [
    config("ovs", { "dpdk-socket-mem": "1024", "max-idle": "30000" }),
    { kind: "Bridge", name: "br", args: { host, name: "br-rst", datapathType: "netdev", failMode: "secure" } },
    { kind: "FlowSet", name: "flows", dependsOn: ["br"], args: { host, bridge: "br-rst", flows: [{ priority: 10, match: "tcp,tp_dst=5201", actions: "drop" }] } },
  ];
  const flows = async () => (await exec(host, ["ovs-ofctl", "dump-flows", "br-rst"])).stdout;

  test("restarts the host's ovs-vswitchd where a key waits for it (a new pid); up --refresh puts the flows back; a second up is same", async () => {
    const up = await ctx.s.up(spec);
    expect(up.outputs.ovs.value.restartNeeded).toEqual(["dpdk-socket-mem"]);
    const before = await ovsDaemonPid(lab.hosts[0], "ovs-vswitchd");
    const said: string[] = [];
    const report = await restartOvs(ctx.s.stack, {}, (l) => said.push(l));
    console.log(said.join("\n"));
    const after = await ovsDaemonPid(lab.hosts[0], "ovs-vswitchd");
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(report.restarted).toEqual([{ host: `netns ${lab.hosts[0].netns}`, ran: `lab: ovs-vswitchd pid ${before} stopped, started as pid ${after}`, keys: ["dpdk-socket-mem"] }]);
    // The restart dropped the flow (refresh read its FlowSet as gone); the up made it again.
    expect(report.changes).toMatchObject({ create: 1 });
    expect(await flows()).toContain("tcp,tp_dst=5201 actions=drop");
    expect(Object.keys((await ctx.s.stack.up()).summary.resourceChanges ?? {})).toEqual(["same"]);
  });

  test("destroy leaves the host as it was before the stack, restart and all", async () => {
    await ctx.s.destroy();
    expect(await hostSnapshot(host)).toEqual(ctx.before);
  });
});
