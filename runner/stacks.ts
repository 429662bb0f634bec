// The project's stacks, driven through Pulumi's Automation API (which runs the
// real CLI): up, outputs, destroy, and the demo's up -> verify -> destroy.
import { join } from "node:path";
import { automation } from "@pulumi/pulumi";
import { SCENARIOS, VARIANTS } from "../stacks/config.ts";
import type { ScenarioOutputs } from "../stacks/expectations.ts";
import { mkdir, writeFile } from "node:fs/promises";
import { measure, type Measurement, type MeasureSettings } from "./measure.ts";
import { verify, type CheckResult } from "./verify.ts";

export const REPO = join(import.meta.dirname, "..");
/** Where measurements and the report go (git-ignored). */
export const REPORTS = join(REPO, "reports");
export const STACK_NAMES = SCENARIOS.flatMap((s) => VARIANTS.map((v) => `${s}-${v}`));

export interface ProjectOptions {
  /** The project folder (default: this repository). */
  workDir?: string;
  /** Environment of the Pulumi CLI, on top of this process's. */
  envVars?: Record<string, string>;
}

export function selectStack(name: string, options: ProjectOptions = {}): Promise<automation.Stack> {
  return automation.LocalWorkspace.createOrSelectStack({ stackName: name, workDir: options.workDir ?? REPO }, { envVars: options.envVars });
}

export async function scenarioOutputs(stack: automation.Stack): Promise<ScenarioOutputs> {
  const outputs = await stack.outputs();
  if (!outputs.expectations) throw new Error(`stack ${stack.name} is not up (no outputs): run pulumi up first`);
  return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value])) as unknown as ScenarioOutputs;
}

/** `pulumi preview --diff` of a stack, without the lines that differ from run to run. No host is touched. */
export async function previewText(name: string, options: ProjectOptions = {}): Promise<string> {
  const { stdout } = await (await selectStack(name, options)).preview({ diff: true });
  return stdout.split("\n").filter((l) => !/^\s*Duration:/.test(l)).join("\n");
}

export interface StackRun {
  stack: string;
  upSeconds?: number;
  verify?: CheckResult[];
  verifySeconds?: number;
  measureSeconds?: number;
  destroySeconds?: number;
  error?: string;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, (performance.now() - start) / 1000];
}

/** Measures a stack that is up and writes the result to `dir` as <stack>-<time>.json; returns the file's path. */
export async function measureStack(stack: automation.Stack, dir: string, settings: MeasureSettings | undefined, say: (line: string) => void): Promise<[Measurement, string]> {
  const m = await measure(stack.name, await scenarioOutputs(stack), settings, say);
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${stack.name}-${m.startedAt.replace(/[:.]/g, "-")}.json`);
  await writeFile(file, `${JSON.stringify(m, null, 2)}\n`);
  return [m, file];
}

/** up -> verify [-> measure] -> destroy; destroy runs also when a step before failed. */
export async function runStack(
  name: string,
  say: (line: string) => void,
  options: ProjectOptions & { measure?: { dir: string; settings?: MeasureSettings } } = {},
): Promise<StackRun> {
  const run: StackRun = { stack: name };
  const stack = await selectStack(name, options);
  try {
    say(`${name}: pulumi up`);
    [, run.upSeconds] = await timed(() => stack.up());
    say(`${name}: verify`);
    [run.verify, run.verifySeconds] = await timed(async () => verify(await scenarioOutputs(stack), (l) => say(`${name}:   ${l}`)));
    if (options.measure) {
      say(`${name}: measure`);
      const into = options.measure;
      [, run.measureSeconds] = await timed(() => measureStack(stack, into.dir, into.settings, (l) => say(`  ${l}`)));
    }
  } catch (e) {
    run.error = (e as Error).message;
    say(`${name}: FAILED: ${run.error}`);
  } finally {
    say(`${name}: pulumi destroy`);
    try {
      [, run.destroySeconds] = await timed(() => stack.destroy());
    } catch (e) {
      run.error = `${run.error ? `${run.error}; ` : ""}destroy: ${(e as Error).message}`;
      say(`${name}: destroy FAILED: ${(e as Error).message}`);
    }
  }
  return run;
}

/** The demo's summary: one row per stack. */
export function summaryTable(runs: StackRun[]): string {
  const s = (n?: number) => (n === undefined ? "-" : `${n.toFixed(1)} s`);
  const rows = runs.map((r) => {
    const checks = r.verify ? `${r.verify.filter((c) => c.ok).length}/${r.verify.length}` : "-";
    const ok = !r.error && r.verify?.every((c) => c.ok);
    return `| ${r.stack} | ${s(r.upSeconds)} | ${checks} | ${s(r.verifySeconds)} | ${s(r.measureSeconds)} | ${s(r.destroySeconds)} | ${ok ? "ok" : "FAILED"} |`;
  });
  return ["| stack | up | checks passed | verify | measure | destroy | result |", "|---|---|---|---|---|---|---|", ...rows].join("\n");
}
