// A real Pulumi stack for a test: the fixture program (test/fixtures/<name>)
// copied to a temporary folder with its own file backend, driven through the
// Automation API (which runs the real CLI and language host).
import { cp, mkdir, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { automation } from "@pulumi/pulumi";
import { afterAll, beforeAll } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { operate, type Operation } from "../../runner/stacks.ts";
import type { Lab } from "../../lab/layout.ts";
import type { HostSpec } from "../../provider/host.ts";
import { hostSnapshot } from "./machine.ts";

const REPO = join(import.meta.dirname, "../..");

/** Points the test program's @ovs-offload-lab/provider at `providerDir` (an upgrade, say). */
export async function linkProvider(dir: string, providerDir: string): Promise<void> {
  const link = join(dir, "program", "node_modules", "@ovs-offload-lab", "provider");
  await rm(link, { force: true });
  await symlink(providerDir, link);
}

export interface TestStack {
  dir: string;
  stack: automation.Stack;
  /** Sets the fixture's config "spec" (resources to make), then runs up. */
  up(spec: unknown): Promise<Operation>;
  preview(spec: unknown): Promise<automation.PreviewResult>;
  refresh(): Promise<Operation>;
  destroy(): Promise<Operation>;
  /** Destroys (ignoring failures) and removes the folder. */
  dispose(): Promise<void>;
}

export interface TestStackOptions {
  stackName?: string;
  /** Environment of the Pulumi CLI (and so of the provider processes). */
  env?: Record<string, string>;
  /** A folder to serve as @ovs-offload-lab/provider instead of provider/ (see linkProvider). */
  provider?: string;
}

export async function testStack(fixture: string, options: TestStackOptions = {}): Promise<TestStack> {
  const { stackName = "test", env = {} } = options;
  const dir = await mkdtemp(join(tmpdir(), `ool-${fixture}-`));
  const program = join(dir, "program");
  await cp(join(REPO, "test/fixtures", fixture), program, { recursive: true });
  if (options.provider) {
    // Packages one by one, so that the provider link can be switched later.
    await mkdir(join(program, "node_modules", "@ovs-offload-lab"), { recursive: true });
    for (const entry of await readdir(join(REPO, "node_modules"))) {
      if (entry !== "@ovs-offload-lab") await symlink(join(REPO, "node_modules", entry), join(program, "node_modules", entry));
    }
    await linkProvider(dir, options.provider);
  } else {
    await symlink(join(REPO, "node_modules"), join(program, "node_modules"));
  }
  await mkdir(join(dir, "state"));
  const stack = await automation.LocalWorkspace.createOrSelectStack(
    { stackName, workDir: program },
    { envVars: { PULUMI_BACKEND_URL: `file://${join(dir, "state")}`, ...env } },
  );
  // Written into the stack's settings file here rather than by `pulumi config set`: one start of the CLI fewer per step.
  const setSpec = async (spec: unknown) => {
    const [project, settings] = await Promise.all([stack.workspace.projectSettings(), stack.workspace.stackSettings(stackName)]);
    await stack.workspace.saveStackSettings(stackName, { ...settings, config: { ...settings.config, [`${project.name}:spec`]: JSON.stringify(spec) } });
  };
  return {
    dir,
    stack,
    up: async (spec) => (await setSpec(spec), operate(stack, "up")),
    preview: async (spec) => (await setSpec(spec), stack.preview({ diff: true })),
    refresh: () => operate(stack, "refresh"),
    destroy: () => operate(stack, "destroy"),
    dispose: async () => {
      await operate(stack, "destroy").catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface LabStack {
  /** The fixture stack of the describe block. */
  s: TestStack;
  /** The host as it was before any test of the block ran. */
  before: Awaited<ReturnType<typeof hostSnapshot>>;
}

/** For a describe block: the lab up and a snapshot of `host` before, the "resources" stack disposed and the lab down after. */
export function useLabStack(lab: Lab, host: HostSpec): LabStack {
  const ctx = {} as LabStack;
  beforeAll(async () => {
    await labUp(lab, () => {});
    ctx.before = await hostSnapshot(host);
    ctx.s = await testStack("resources");
  });
  afterAll(async () => {
    await ctx.s?.dispose();
    await labDown(lab, () => {});
  });
  return ctx;
}
