// The project's own Pulumi program (Pulumi.yaml, stacks/) in a temporary
// copy, so a test can point a stack at its own lab and keep its own state
// (the copy's .pulumi-state) without touching the checkout.
import { cp, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { automation } from "@pulumi/pulumi";
import { expect } from "vitest";
import { operate, REPO, scenarioOutputs, selectStack } from "../../runner/stacks.ts";
import { verify } from "../../runner/verify.ts";

export interface ProjectCopy {
  dir: string;
  /** A stack of the copy, its config's lab set to `lab`. */
  stack(name: string, lab: string): Promise<automation.Stack>;
  remove(): Promise<void>;
}

export async function projectCopy(): Promise<ProjectCopy> {
  const dir = await mkdtemp(join(tmpdir(), "ool-project-"));
  await cp(join(REPO, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  // Not stacks/.pulumi-state: the link to the checkout's state (for pulumi run from stacks/).
  await cp(join(REPO, "stacks"), join(dir, "stacks"), { recursive: true, filter: (src) => !src.endsWith("/.pulumi-state") });
  for (const linked of ["node_modules", "lab", "provider", "vm", "package.json"]) await symlink(join(REPO, linked), join(dir, linked));
  await mkdir(join(dir, ".pulumi-state"));
  return {
    dir,
    async stack(name, lab) {
      const stack = await selectStack(name, { workDir: dir });
      await stack.setConfig("lab", { value: lab });
      return stack;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A scenario stack that is up works and is settled: its own checks pass, and another up has nothing to do. */
export async function expectWorkingAndSettled(stack: automation.Stack, say?: (line: string) => void): Promise<void> {
  const outputs = await scenarioOutputs(stack);
  const results = await verify(outputs, say);
  expect(results.filter((r) => r.status === "failed").map((r) => `${r.expectation.why}: ${r.seen}`)).toEqual([]);
  expect(results.length).toBeGreaterThanOrEqual(3);
  // An offload stack's representors were sampled during the traffic (their flows were there) and, the lab having no hardware, reported, not passed.
  const offloaded = results.filter((r) => r.expectation.kind === "offloaded");
  expect(offloaded.map((r) => r.sample?.host)).toEqual(Object.keys(outputs.offload ?? {}));
  for (const r of offloaded) expect(`${r.status} ${r.seen}`).toMatch(/^n\/a offloaded: 0 \(lab: no hardware\); [1-9]\d* datapath flows? through /);
  expect(Object.keys((await operate(stack, "up")).summary.resourceChanges)).toEqual(["same"]);
}
