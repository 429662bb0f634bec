// Every scenario stack through the real engine on a lab of its own: up, the
// stack's own expectations verified with real traffic, a second up with no
// changes, preview with no host reachable, destroy leaving the hosts as before.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { scenarioOutputs, STACK_NAMES } from "../../runner/stacks.ts";
import { verify } from "../../runner/verify.ts";
import { hostSnapshot, machineSnapshot, testLabName } from "../support/machine.ts";
import { projectCopy, type ProjectCopy } from "../support/project.ts";

const lab = labLayout(testLabName()); // all 24 VFs: virtio-relay uses VF 21
/** A lab that is never brought up: no host of it can be reached. */
const absentLab = testLabName();
let project: ProjectCopy;
/** A second copy, whose stacks preview against the absent lab. */
let prProject: ProjectCopy;
let before: unknown;

const snapshot = async () => ({
  machine: (await machineSnapshot()).netns,
  hosts: await Promise.all(lab.hosts.map((h) => hostSnapshot(h.spec))),
});

beforeAll(async () => {
  await labUp(lab, () => {});
  project = await projectCopy();
  prProject = await projectCopy();
  before = await snapshot();
});
afterAll(async () => {
  await project?.remove();
  await prProject?.remove();
  await labDown(lab, () => {});
});

describe.each(STACK_NAMES)("%s", (name) => {
  test("preview with no host reachable shows the plan", async () => {
    const stack = await prProject.stack(name, absentLab);
    const preview = await stack.preview();
    expect(preview.changeSummary.create).toBeGreaterThan(5);
  });

  test("up, verify, up again with no changes, destroy: the hosts are as before", async () => {
    const stack = await project.stack(name, lab.name);
    try {
      const up = await stack.up();
      expect(up.summary.result).toBe("succeeded");
      const results = await verify(await scenarioOutputs(stack), (l) => console.log(`${name}: ${l}`));
      expect(results.filter((r) => !r.ok).map((r) => `${r.expectation.why}: ${r.seen}`)).toEqual([]);
      expect(results.length).toBeGreaterThanOrEqual(3);
      const again = await stack.up();
      expect(Object.keys(again.summary.resourceChanges ?? {})).toEqual(["same"]);
    } finally {
      await stack.destroy();
    }
    expect(await snapshot()).toEqual(before);
  });
});
