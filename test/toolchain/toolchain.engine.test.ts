// The Pulumi toolchain that scripts/setup provides: the pinned CLI, its
// Node.js language host, the command plugin and dynamic providers, driven
// through the CLI and through the Automation API.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { automation } from "@pulumi/pulumi";
import { afterEach, beforeEach, describe, expect, test } from "vitest";

const run = promisify(execFile);
const REPO = join(import.meta.dirname, "../..");

async function pinnedVersion(): Promise<string> {
  const toolchain = await readFile(join(REPO, "scripts/toolchain.sh"), "utf8");
  return /^PULUMI_VERSION=(\S+)$/m.exec(toolchain)![1];
}

test("pulumi on PATH is the pinned version", async () => {
  const { stdout } = await run("pulumi", ["version"]);
  expect(stdout.trim()).toBe(`v${await pinnedVersion()}`);
});

describe("a TypeScript program with a dynamic resource and a command.local.Command", () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  const markers = () => ["dynamic", "command"].map((f) => existsSync(join(work, "markers", f)));

  beforeEach(async () => {
    // A copy, so stack files and state stay out of the repository.
    work = await mkdtemp(join(tmpdir(), "ool-toolchain-"));
    await cp(join(REPO, "test/fixtures/toolchain"), join(work, "program"), { recursive: true });
    await symlink(join(REPO, "node_modules"), join(work, "program", "node_modules"));
    await run("mkdir", ["-p", join(work, "markers"), join(work, "state")]);
    env = { ...process.env, PULUMI_BACKEND_URL: `file://${join(work, "state")}`, TOOLCHAIN_CHECK_DIR: join(work, "markers") };
  });
  afterEach(() => rm(work, { recursive: true, force: true }));

  test("goes up and down through the pulumi CLI (language host)", async () => {
    const cwd = join(work, "program");
    await run("pulumi", ["stack", "init", "check", "--non-interactive"], { cwd, env });
    await run("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive"], { cwd, env });
    expect(markers()).toEqual([true, true]);
    const again = await run("pulumi", ["preview", "--expect-no-changes", "--non-interactive"], { cwd, env });
    expect(again.stdout).toMatch(/3 unchanged/);
    expect(again.stdout).not.toMatch(/warning/);
    await run("pulumi", ["destroy", "--yes", "--skip-preview", "--non-interactive"], { cwd, env });
    expect(markers()).toEqual([false, false]);
  });

  test("goes up and down through the Automation API", async () => {
    const stack = await automation.LocalWorkspace.createOrSelectStack(
      { stackName: "check", workDir: join(work, "program") },
      { envVars: { PULUMI_BACKEND_URL: env.PULUMI_BACKEND_URL!, TOOLCHAIN_CHECK_DIR: env.TOOLCHAIN_CHECK_DIR! } },
    );
    const up = await stack.up();
    expect(up.summary.resourceChanges).toEqual({ create: 3 });
    expect(markers()).toEqual([true, true]);
    const destroyed = await stack.destroy();
    expect(destroyed.summary.resourceChanges).toEqual({ delete: 3 });
    expect(markers()).toEqual([false, false]);
  });
});
