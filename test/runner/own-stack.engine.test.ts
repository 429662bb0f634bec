// A stack of one's own through the real CLI, no lab: meter-offload-rack2,
// made in a temporary copy of the project with its scenario and variant in
// its config alone, is previewed as meter's offload variant and taken by
// verify and measure (which then find it is not up); a stack whose config
// does not say what it builds, or that has no config, is refused saying why.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { REPO } from "../../runner/stacks.ts";
import { projectCopy, type ProjectCopy } from "../support/project.ts";

const run = promisify(execFile);
let project: ProjectCopy;

/** `npm run scenario -- ARGS` on the copy: its exit code and output. */
const scenario = (...args: string[]) =>
  run(process.execPath, [join(REPO, "runner/cli.ts"), ...args, "--project", project.dir]).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
const pulumi = (...args: string[]) => run("pulumi", [...args, "--non-interactive"], { cwd: project.dir });

beforeAll(async () => {
  project = await projectCopy();
  await pulumi("stack", "init", "meter-offload-rack2");
  await pulumi("config", "set", "--stack", "meter-offload-rack2", "scenario", "meter");
  await pulumi("config", "set", "--stack", "meter-offload-rack2", "variant", "offload");
  await pulumi("stack", "init", "rack3");
  await pulumi("config", "set", "--stack", "rack3", "innerMtu", "1400");
});
afterAll(() => project?.remove());

test("preview builds what its config says: meter 7 and the VF of the offload variant", async () => {
  const { code, stdout } = await scenario("preview", "--stack", "meter-offload-rack2");
  expect(code).toBe(0);
  expect(stdout).toMatch(/^== meter-offload-rack2\nchanges: create \d+\n/);
  for (const step of ["create Meter host1-meter7", "create VfBinding host1-app1-vf", "create pulumi:pulumi:Stack ovs-offload-lab-meter-offload-rack2"]) expect(stdout).toContain(step);
});

test.each(["verify", "measure"])("%s takes it, says what it builds, and finds it is not up", async (command) => {
  const { code, stdout, stderr } = await scenario(command, "--stack", "meter-offload-rack2");
  expect(stdout).toContain(`meter-offload-rack2 (meter offload): ${command}\n`);
  expect(stderr).toBe("scenario: stack meter-offload-rack2 is not up (no outputs): run pulumi up first\n");
  expect(code).toBe(1);
});

test.each([
  ["rack3", "stack rack3 is not one of the project's ten, so its config must say what it builds:\n  ovs-offload-lab:scenario: not set\n  ovs-offload-lab:variant: not set\n"],
  ["meter-ofload", "no stack meter-ofload in this project: it is not one of the ten (did you mean meter-offload?)"],
])("%s is refused before anything runs on it", async (stack, why) => {
  const verified = await scenario("verify", "--stack", stack);
  expect(verified.code).toBe(1);
  expect(verified.stdout).toBe("");
  expect(verified.stderr).toContain(`scenario: ${why}`);
  const previewed = await scenario("preview", "--stack", stack);
  expect(previewed.code).toBe(1);
  expect(previewed.stdout).toContain(`== ${stack} FAILED\n${why}`);
});
