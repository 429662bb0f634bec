// Every scenario stack through the real engine on a lab of its own: up, the
// stack's own expectations verified with real traffic, a second up with no
// changes, destroy leaving the hosts as before — also after an up that failed
// part-way, for one stack of each scenario (the two variants take turns),
// since the others build from the same kinds on the same hosts. (Their
// previews with no host reachable: previews.engine.test.ts.)
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { exec } from "../../provider/host.ts";
import { operate, STACK_NAMES } from "../../runner/stacks.ts";
import { SCENARIOS } from "../../stacks/config.ts";
import { labSnapshot, testLabName } from "../support/machine.ts";
import { expectWorkingAndSettled, projectCopy, type ProjectCopy } from "../support/project.ts";

/** The stacks whose up is also made to fail part-way: each scenario once, the variants in turn. */
const FAILURE_CASES = SCENARIOS.map((s, i) => `${s}-${i % 2 ? "classic" : "offload"}`);

const lab = labLayout(testLabName()); // all 24 VFs: virtio-relay uses VF 21
let project: ProjectCopy;
let before: unknown;

const snapshot = () => labSnapshot(lab);
/** Hosts where a bridge br0 that no stack made makes every stack's up fail part-way. */
const [, ...obstructed] = lab.hosts;

beforeAll(async () => {
  await labUp(lab, () => {});
  project = await projectCopy();
  before = await snapshot();
});
afterAll(async () => {
  await project?.remove();
  await labDown(lab, () => {});
});

describe.each(STACK_NAMES)("%s", (name) => {
  test("up, verify, up again with no changes, destroy: the hosts are as before", async () => {
    const stack = await project.stack(name, lab.name);
    try {
      const up = await operate(stack, "up");
      expect(up.summary.result).toBe("succeeded");
      await expectWorkingAndSettled(stack, (l) => console.log(`${name}: ${l}`));
    } finally {
      await operate(stack, "destroy");
    }
    expect(await snapshot()).toEqual(before);
  });

  if (!FAILURE_CASES.includes(name)) return;
  test("an up that fails part-way, then destroy: the hosts are as before", async () => {
    const stack = await project.stack(name, lab.name);
    for (const h of obstructed) await exec(h.spec, ["ovs-vsctl", "add-br", "br0", "--", "set", "Bridge", "br0", "datapath_type=netdev"]);
    try {
      const obstructedBefore = await snapshot();
      const failure = await operate(stack, "up").then(() => undefined, (e: Error) => e);
      expect(failure?.message).toMatch(/bridge br0 already exists on netns \S+ and is not made by ovs-offload-lab/);
      const made = ((await stack.exportStack()).deployment.resources ?? []).length;
      console.log(`${name}: up failed on the foreign br0 with ${made} resources in the state; destroying`);
      await operate(stack, "destroy");
      expect(await snapshot()).toEqual(obstructedBefore);
    } finally {
      for (const h of obstructed) await exec(h.spec, ["ovs-vsctl", "--if-exists", "del-br", "br0"]);
    }
    expect(await snapshot()).toEqual(before);
  });
});
