// Every scenario stack's preview with no host reachable (a lab that was never
// brought up): the plan, through the real engine, as a pull request's preview
// runs it, touching no host. Side by side: each is a process of its own.
import { afterAll, beforeAll, expect, test } from "vitest";
import { STACK_NAMES } from "../../runner/stacks.ts";
import { testLabName } from "../support/machine.ts";
import { projectCopy, type ProjectCopy } from "../support/project.ts";

const absentLab = testLabName();
let project: ProjectCopy;

beforeAll(async () => {
  project = await projectCopy();
});
afterAll(async () => {
  await project?.remove();
});

test.concurrent.each(STACK_NAMES)("%s: preview with no host reachable shows the plan", async (name) => {
  const preview = await (await project.stack(name, absentLab)).preview();
  expect(preview.changeSummary.create).toBeGreaterThan(5);
});
