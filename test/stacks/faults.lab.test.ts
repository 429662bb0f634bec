// Faults on a scenario stack (meter-offload: VFs, a meter, flows): OVS
// restarted under a stack that is up, and ovs-vswitchd or ovsdb-server killed
// in the middle of an up. Each time the stack converges again and destroy leaves the hosts as
// they were.
import { afterAll, beforeAll, expect, test } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { ovsDaemonPid } from "../../lab/ovs.ts";
import { stopPid } from "../../lab/process.ts";
import { exec, timed, waitFor } from "../../provider/host.ts";
import { operate } from "../../runner/stacks.ts";
import { labSnapshot, testLabName } from "../support/machine.ts";
import { expectWorkingAndSettled, projectCopy, type ProjectCopy } from "../support/project.ts";

const lab = labLayout(testLabName(), 2);
const host1 = lab.hosts[0];
let project: ProjectCopy;
let before: unknown;
const snapshot = () => labSnapshot(lab);

/** Kills one of host1's OVS daemons by its pid, as a crash would. */
async function kill(daemon: "ovs-vswitchd" | "ovsdb-server"): Promise<void> {
  const pid = await ovsDaemonPid(host1, daemon);
  expect(pid).toBeDefined();
  process.kill(pid!, "SIGKILL");
  await stopPid(pid!);
}

beforeAll(async () => {
  await labUp(lab, () => {});
  project = await projectCopy();
  before = await snapshot();
});
afterAll(async () => {
  await project?.remove();
  await labDown(lab, () => {});
});

test("OVS restarted under a stack that is up: refresh finds the lost meter and flows, up restores them", async () => {
  const stack = await project.stack("meter-offload", lab.name);
  try {
    await operate(stack, "up");
    await kill("ovs-vswitchd");
    await labUp(lab, () => {}); // starts it again: the database kept bridges and ports, OpenFlow state is gone
    const refresh = await operate(stack, "refresh");
    const preview = await stack.preview();
    console.log(`after an OVS restart, refresh: ${JSON.stringify(refresh.summary.resourceChanges)}, then preview: ${JSON.stringify(preview.changeSummary)}`);
    // host1's meter and flows are gone (a FlowSet none of whose flows is left reads as gone); the rest is as it was.
    expect(refresh.summary.resourceChanges).toMatchObject({ delete: 2 });
    expect(preview.changeSummary).toMatchObject({ create: 2 });
    await operate(stack, "up");
    await expectWorkingAndSettled(stack);
  } finally {
    await operate(stack, "destroy");
  }
  expect(await snapshot()).toEqual(before);
});

test.each(["ovs-vswitchd", "ovsdb-server"] as const)("%s killed during up: the up fails naming the host; with OVS back, up --refresh converges", async (daemon) => {
  const stack = await project.stack("meter-offload", lab.name);
  try {
    const up = operate(stack, "up");
    const bridgeThere = () => exec(host1.spec, ["ovs-vsctl", "--timeout=5", "br-exists", "br0"]).then(() => true, () => false);
    expect(await waitFor(bridgeThere, 60_000)).toBe(true);
    await kill(daemon);
    const [failure, seconds] = await timed(() => up.then(() => undefined, (e: Error) => e));
    console.log(`${daemon} killed: the up failed ${seconds.toFixed(1)} s later`);
    expect(failure?.message).toMatch(new RegExp(`netns ${host1.netns}`));

    await labUp(lab, () => {});
    await operate(stack, "up", ["--refresh"]);
    await expectWorkingAndSettled(stack);
  } finally {
    await operate(stack, "destroy");
  }
  expect(await snapshot()).toEqual(before);
});
