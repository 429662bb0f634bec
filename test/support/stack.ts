// A real Pulumi stack for a test: the fixture program (test/fixtures/<name>)
// copied to a temporary folder with its own file backend, driven through the
// Automation API (which runs the real CLI and language host).
import { cp, mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { automation } from "@pulumi/pulumi";

const REPO = join(import.meta.dirname, "../..");

export interface TestStack {
  dir: string;
  stack: automation.Stack;
  /** Sets the fixture's config "spec" (resources to make), then runs up. */
  up(spec: unknown): Promise<automation.UpResult>;
  preview(spec: unknown): Promise<automation.PreviewResult>;
  refresh(): Promise<automation.RefreshResult>;
  destroy(): Promise<automation.DestroyResult>;
  /** Destroys (ignoring failures) and removes the folder. */
  dispose(): Promise<void>;
}

export async function testStack(fixture: string, stackName = "test", env: Record<string, string> = {}): Promise<TestStack> {
  const dir = await mkdtemp(join(tmpdir(), `ool-${fixture}-`));
  const program = join(dir, "program");
  await cp(join(REPO, "test/fixtures", fixture), program, { recursive: true });
  await symlink(join(REPO, "node_modules"), join(program, "node_modules"));
  await mkdir(join(dir, "state"));
  const stack = await automation.LocalWorkspace.createOrSelectStack(
    { stackName, workDir: program },
    { envVars: { PULUMI_BACKEND_URL: `file://${join(dir, "state")}`, ...env } },
  );
  const setSpec = (spec: unknown) => stack.setConfig("spec", { value: JSON.stringify(spec) });
  return {
    dir,
    stack,
    up: async (spec) => (await setSpec(spec), stack.up()),
    preview: async (spec) => (await setSpec(spec), stack.preview({ diff: true })),
    refresh: () => stack.refresh(),
    destroy: () => stack.destroy(),
    dispose: async () => {
      await stack.destroy().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
