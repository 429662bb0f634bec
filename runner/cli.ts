// npm run scenario -- preview|up|verify|measure|report|destroy|recover|demo — the scenario stacks on the lab
// (or on the hosts their config names). Needs the toolchain on PATH (scripts/env).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { labDown, labUp } from "../lab/lab.ts";
import { DEFAULT_LAB_NAME, labLayout } from "../lab/layout.ts";
import { exitWith } from "../lab/process.ts";
import { SCENARIOS } from "../stacks/config.ts";
import { DEFAULT_SETTINGS, type MeasureSettings } from "./measure.ts";
import { recoverStack } from "./recover.ts";
import { writeReport } from "./report.ts";
import { measureStack, previewText, REPORTS, runStack, scenarioOutputs, selectStack, STACK_NAMES, summaryTable, type StackRun } from "./stacks.ts";
import { verify } from "./verify.ts";

const HELP = `Usage: npm run scenario -- <command> [--stack NAME | --scenario NAME] [--out DIR]

The scenario stacks (stacks/Pulumi.<stack>.yaml): ${SCENARIOS.join(", ")},
each -classic and -offload. Without --stack or --scenario: all ten.

  preview  pulumi preview --diff, touching no host; with --out, one
           <stack>.txt per stack in DIR (what the pull request workflow
           compares between the base and the head)
  up       pulumi up
  verify   check what each stack says must hold (ping, TCP, throughput,
           flow counters, conntrack) on a stack that is up
  measure  measure a stack that is up as the seed did (ping; iperf3, one
           stream and parallel ones; CPU of the datapath processes), write
           reports/<stack>-<time>.json, then the report
  report   write reports/report.md and reports/<scenario>.svg from the
           newest measurement of each stack, and print the table
  destroy  pulumi destroy
  recover  after an up that was killed (SIGKILL, a second Ctrl-C, a lost
           terminal): remove the stack's lock if the pulumi that holds it no
           longer runs, stop the Pulumi plugins it left running, read back
           from the hosts what its unfinished creates made, clear the rest;
           then run up again (docs/stacks.md)
  demo     the lab (${DEFAULT_LAB_NAME}) up; for each stack up, verify, measure,
           destroy; the lab down; a summary table, then the report's.
           Leaves the machine as it found it (reports/ aside).

Options:
  --stack NAME      one stack, e.g. meter-offload
  --scenario NAME   both variants of one scenario, e.g. meter
  --out DIR         preview: write the previews there
  --runs N          measure: runs per stack (default ${DEFAULT_SETTINGS.runs})
  --seconds N       measure: seconds per iperf3 run (default ${DEFAULT_SETTINGS.seconds})
  --parallel N,M    measure: parallel stream counts (default ${DEFAULT_SETTINGS.parallel.join(",")})
`;

function stacksFor(stack?: string, scenario?: string): string[] {
  if (stack) {
    if (!STACK_NAMES.includes(stack)) throw new Error(`unknown stack ${JSON.stringify(stack)} (known: ${STACK_NAMES.join(", ")})`);
    return [stack];
  }
  if (scenario) {
    if (!(SCENARIOS as readonly string[]).includes(scenario)) throw new Error(`unknown scenario ${JSON.stringify(scenario)} (known: ${SCENARIOS.join(", ")})`);
    return [`${scenario}-classic`, `${scenario}-offload`];
  }
  return STACK_NAMES;
}

const say = (line: string) => console.log(line);

function settingsFrom(values: { runs?: string; seconds?: string; parallel?: string }): MeasureSettings {
  const count = (name: string, v: string | undefined, fallback: number, max: number) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be a whole number from 1 to ${max}, not ${JSON.stringify(v)}`);
    return n;
  };
  return {
    ...DEFAULT_SETTINGS,
    runs: count("runs", values.runs, DEFAULT_SETTINGS.runs, 20),
    seconds: count("seconds", values.seconds, DEFAULT_SETTINGS.seconds, 60),
    parallel: values.parallel === undefined ? DEFAULT_SETTINGS.parallel : values.parallel.split(",").map((p) => count("parallel", p, 1, 64)),
  };
}

async function report(): Promise<void> {
  say(`\n${await writeReport(REPORTS)}\n\nreport: ${join(REPORTS, "report.md")}`);
}

async function demo(stacks: string[], settings: MeasureSettings): Promise<boolean> {
  const lab = labLayout(DEFAULT_LAB_NAME);
  const runs: StackRun[] = [];
  try {
    say(`lab ${lab.name}: up`);
    await labUp(lab, () => {});
    for (const stack of stacks) runs.push(await runStack(stack, say, { measure: { dir: REPORTS, settings } }));
  } finally {
    say(`lab ${lab.name}: down`);
    await labDown(lab, () => {});
  }
  say(`\n${summaryTable(runs)}`);
  await report();
  return runs.every((r) => !r.error && r.verify?.every((c) => c.ok));
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      stack: { type: "string" }, scenario: { type: "string" }, out: { type: "string" },
      runs: { type: "string" }, seconds: { type: "string" }, parallel: { type: "string" }, help: { type: "boolean", short: "h" },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const stacks = stacksFor(values.stack, values.scenario);
  switch (command) {
    case "demo":
      return (await demo(stacks, settingsFrom(values))) ? 0 : 1;
    case "measure":
      for (const s of stacks) {
        say(`${s}: measure`);
        const [, file] = await measureStack(await selectStack(s), REPORTS, settingsFrom(values), (l) => say(`  ${l}`));
        say(`${s}: ${file}`);
      }
      await report();
      return 0;
    case "report":
      await report();
      return 0;
    case "preview":
      if (values.out) await mkdir(values.out, { recursive: true });
      for (const s of stacks) {
        const text = await previewText(s);
        if (values.out) await writeFile(join(values.out, `${s}.txt`), text);
        else say(`== ${s}\n${text}`);
      }
      return 0;
    case "up":
      for (const s of stacks) {
        say(`${s}: pulumi up`);
        await (await selectStack(s)).up({ onOutput: (o) => process.stdout.write(o) });
      }
      return 0;
    case "verify": {
      let ok = true;
      for (const s of stacks) {
        say(`${s}: verify`);
        const results = await verify(await scenarioOutputs(await selectStack(s)), (l) => say(`  ${l}`));
        ok &&= results.every((r) => r.ok);
      }
      return ok ? 0 : 1;
    }
    case "destroy":
      for (const s of stacks) {
        say(`${s}: pulumi destroy`);
        await (await selectStack(s)).destroy({ onOutput: (o) => process.stdout.write(o) });
      }
      return 0;
    case "recover":
      for (const s of stacks) await recoverStack(await selectStack(s), say);
      return 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n${HELP}`);
      return 2;
  }
}

exitWith("scenario", main);
