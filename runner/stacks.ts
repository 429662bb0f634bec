// The project's stacks, driven through Pulumi's Automation API (which runs the
// real CLI): which stack builds what, up, outputs, destroy, and the demo's
// up -> verify -> destroy.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, realpath, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { automation } from "@pulumi/pulumi";
import { nearestKey, SCENARIOS, stackConfig, VARIANTS, type Scenario, type Variant } from "../stacks/config.ts";
import type { ScenarioOutputs } from "../stacks/expectations.ts";
import { timed } from "../provider/host.ts";
import { measure, type Measurement, type MeasureSettings } from "./measure.ts";
import { previewErrors, renderPreview, type PreviewJson } from "./preview.ts";
import { noneFailed, verify, type CheckResult } from "./verify.ts";

export const REPO = join(import.meta.dirname, "..");
/** Where measurements and the report go (git-ignored). */
export const REPORTS = join(REPO, "reports");
/** The project's ten stacks, `<scenario>-<variant>`: the ones `demo`, `--scenario` and no option at all run. */
const BUILT_IN = SCENARIOS.flatMap((scenario) => VARIANTS.map((variant) => ({ name: `${scenario}-${variant}`, scenario, variant })));
export const STACK_NAMES = BUILT_IN.map((s) => s.name);
const run = promisify(execFile);

/**
 * The stacks a command acts on: `stack`, any stack of the project (the
 * demo takes only the ten: it brings up its own lab for them), both built-in
 * variants of `scenario`, or all ten.
 */
export function stacksNamed(options: { stack?: string; scenario?: string; demo?: boolean }): string[] {
  const { stack, scenario } = options;
  if (stack) {
    if (options.demo && !STACK_NAMES.includes(stack)) throw new Error(`demo runs the project's ten stacks on its own lab, and ${stack} is not one of them (${STACK_NAMES.join(", ")}): use up, verify, measure and destroy`);
    return [stack];
  }
  if (scenario) {
    if (!(SCENARIOS as readonly string[]).includes(scenario)) throw new Error(`unknown scenario ${JSON.stringify(scenario)} (known: ${SCENARIOS.join(", ")})`);
    return VARIANTS.map((v) => `${scenario}-${v}`);
  }
  return STACK_NAMES;
}

export interface StackScenario {
  scenario: Scenario;
  variant: Variant;
}

/**
 * What a stack builds. One of the ten says it by its name; any other stack's
 * config must (`<namespace>:scenario` and `:variant`, raw values by key, as
 * the program reads them), or this throws saying what to set.
 */
export function scenarioOf(name: string, config: Record<string, unknown>, namespace: string): StackScenario {
  const builtIn = BUILT_IN.find((s) => s.name === name);
  if (builtIn) return { scenario: builtIn.scenario, variant: builtIn.variant };
  const parsed = stackConfig.pick({ scenario: true, variant: true }).safeParse({ scenario: config.scenario, variant: config.variant });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `  ${namespace}:${String(i.path[0])}: ${config[i.path[0] as string] === undefined ? "not set" : i.message}`);
  throw new Error(
    `stack ${name} is not one of the project's ten, so its config must say what it builds:\n${problems.join("\n")}\n` +
      `(pulumi config set --stack ${name} scenario <${SCENARIOS.join("|")}>, and variant <${VARIANTS.join("|")}>; see docs/stacks.md)`,
  );
}

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

/** The config keys of the project's namespace that `pulumi config` shows without decrypting anything: raw values by key. */
async function plainConfig(stack: automation.Stack, namespace: string, options: ProjectOptions): Promise<Record<string, unknown>> {
  // Not getAllConfig: it decrypts every secret, so needs the stack's passphrase even for these two plain keys.
  const { stdout } = await run("pulumi", ["config", "--json", "--stack", stack.name], { cwd: options.workDir ?? REPO, env: { ...process.env, ...options.envVars } });
  const config = JSON.parse(stdout) as Record<string, { value?: string }>;
  return Object.fromEntries(Object.entries(config).filter(([key]) => key.startsWith(`${namespace}:`)).map(([key, v]) => [key.slice(namespace.length + 1), v.value]));
}

export interface ProjectStack extends StackScenario {
  stack: automation.Stack;
}

/**
 * A stack of the project and what it builds: one of the ten, or any other
 * whose config file (stacks/Pulumi.<name>.yaml) names its scenario and
 * variant. Either is made in the backend on first use (as on a fresh
 * checkout); a name with no config file is refused before anything is made.
 */
export async function openStack(name: string, options: ProjectOptions = {}): Promise<ProjectStack> {
  const builtIn = STACK_NAMES.includes(name);
  if (!builtIn && !existsSync(join(options.workDir ?? REPO, "stacks", `Pulumi.${name}.yaml`))) {
    const near = nearestKey(name, STACK_NAMES);
    throw new Error(
      `no stack ${name} in this project: it is not one of the ten${near ? ` (did you mean ${near}?)` : ""} and has no config file stacks/Pulumi.${name}.yaml ` +
        `to say what it builds (pulumi stack init ${name}, then pulumi config set --stack ${name} scenario … and variant …; see docs/stacks.md)`,
    );
  }
  const stack = await selectStack(name, options);
  const namespace = (await stack.workspace.projectSettings()).name;
  return { stack, ...scenarioOf(name, builtIn ? {} : await plainConfig(stack, namespace, options), namespace) };
}

/**
 * `pulumi preview --json` of a stack, run by the CLI itself (the Automation
 * API's preview has no --json), without --show-secrets. No host is touched.
 * A failed preview throws with the errors it reported.
 */
async function previewJson(name: string, options: ProjectOptions): Promise<PreviewJson> {
  await openStack(name, options); // made on first use, as on a pull request's fresh backend
  const argv = ["preview", "--json", "--non-interactive", "--stack", name];
  const cwd = options.workDir ?? REPO;
  try {
    const { stdout } = await run("pulumi", argv, { cwd, env: { ...process.env, ...options.envVars }, maxBuffer: 1 << 28 });
    return JSON.parse(stdout) as PreviewJson;
  } catch (e) {
    const { stdout, stderr, message } = e as Error & { stdout?: string; stderr?: string };
    // Without JSON on stdout the CLI failed before the preview began, and stderr says why.
    const errors = stdout?.trimStart().startsWith("{") ? previewErrors(JSON.parse(stdout) as PreviewJson) : [];
    throw new Error(errors.length ? errors.join("\n") : `pulumi ${argv.join(" ")} in ${cwd}: ${stderr?.trim() || message}`);
  }
}

/** A stack's plan as text that is the same for the same plan (runner/preview.ts). */
export async function previewText(name: string, options: ProjectOptions = {}): Promise<string> {
  // As the program sees its directory (import.meta.dirname): symbolic links resolved.
  return renderPreview(await previewJson(name, options), await realpath(options.workDir ?? REPO));
}

/** What an up, refresh or destroy did, as Stack.up and the others say it. */
export interface Operation {
  summary: { result: string; resourceChanges: Record<string, number> };
  /** The stack's outputs after it (none after a destroy); secrets as "[secret]". */
  outputs: automation.OutputMap;
}

/** How the engine writes a secret into its --json events. */
const SECRET_SIGNATURE = "4dabf18193072939515e22adb298388d";

/**
 * `pulumi <command> --yes --skip-preview` of a stack of a local workspace,
 * its summary and outputs read from the command's own --json events: what
 * Stack.up, refresh and destroy give, without the commands they run after it
 * (stack output, twice, and stack history after an up), each a start of the
 * CLI that loads the whole state. A failure throws the engine's error
 * diagnostics, as the CLI prints them.
 */
export async function operate(stack: automation.Stack, command: "up" | "refresh" | "destroy", extra: string[] = []): Promise<Operation> {
  const ws = stack.workspace as automation.LocalWorkspace;
  const argv = [command, "--yes", "--skip-preview", "--json", "--non-interactive", "--stack", stack.name, ...extra];
  const env = { ...process.env, ...ws.envVars, ...(ws.pulumiHome ? { PULUMI_HOME: ws.pulumiHome } : {}) };
  type Failure = Error & { stdout?: string; stderr?: string };
  const done = await run(ws.pulumiCommand.command, argv, { cwd: ws.workDir, env, maxBuffer: 256 << 20 }).then(
    (r) => ({ ...r, failure: undefined }),
    (err: Failure) => ({ stdout: err.stdout ?? "", stderr: err.stderr ?? "", failure: err }),
  );
  const events = done.stdout.split("\n").flatMap((l) => (l.startsWith("{") ? [JSON.parse(l) as automation.EngineEvent] : []));
  // The CLI's events carry the result too (the Automation API's type leaves it out).
  const summary = events.find((e) => e.summaryEvent)?.summaryEvent as (automation.SummaryEvent & { result?: string }) | undefined;
  if (done.failure || !summary?.result || summary.result !== "succeeded") {
    const said = events.flatMap((e) => (e.diagnosticEvent?.severity === "error" ? [e.diagnosticEvent.message.trim()] : []));
    // Not the child's error as cause: it carries the whole event stream.
    throw new Error(`pulumi ${command} of stack ${stack.name} failed:\n${[...said, done.stderr.trim()].filter(Boolean).join("\n")}`);
  }
  const root = events.find((e) => e.resOutputsEvent?.metadata.type === "pulumi:pulumi:Stack")?.resOutputsEvent?.metadata.new?.outputs ?? {};
  const outputs = Object.fromEntries(
    Object.entries(root).map(([k, v]) => {
      const secret = typeof v === "object" && v !== null && SECRET_SIGNATURE in v;
      return [k, { value: secret ? "[secret]" : v, secret }];
    }),
  );
  return { summary: { result: summary.result, resourceChanges: (summary.resourceChanges ?? {}) as Record<string, number> }, outputs };
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
    [, run.upSeconds] = await timed(() => operate(stack, "up"));
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
      [, run.destroySeconds] = await timed(() => operate(stack, "destroy"));
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
    // An n/a check (offload on the lab) is neither passed nor failed.
    const na = r.verify?.filter((c) => c.status === "n/a").length ?? 0;
    const checks = r.verify ? `${r.verify.filter((c) => c.status === "passed").length}/${r.verify.length - na}${na ? ` (${na} n/a)` : ""}` : "-";
    const ok = !r.error && r.verify && noneFailed(r.verify);
    return `| ${r.stack} | ${s(r.upSeconds)} | ${checks} | ${s(r.verifySeconds)} | ${s(r.measureSeconds)} | ${s(r.destroySeconds)} | ${ok ? "ok" : "FAILED"} |`;
  });
  return ["| stack | up | checks passed | verify | measure | destroy | result |", "|---|---|---|---|---|---|---|", ...rows].join("\n");
}
