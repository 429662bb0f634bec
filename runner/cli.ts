// npm run scenario -- preview|comment|up|verify|measure|report|destroy|recover|demo — the scenario stacks on the lab
// (or on the hosts their config names). Needs the toolchain on PATH (scripts/env).
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { labDown, labUp } from "../lab/lab.ts";
import { DEFAULT_LAB_NAME, labLayout } from "../lab/layout.ts";
import { exitWith } from "../lab/process.ts";
import { SCENARIOS } from "../stacks/config.ts";
import { DEFAULT_SETTINGS, type MeasureSettings } from "./measure.ts";
import { buildComment, readPreviews } from "./pr-comment.ts";
import { recoverStack } from "./recover.ts";
import { writeReport } from "./report.ts";
import { measureStack, openStack, previewText, REPORTS, runStack, scenarioOutputs, STACK_NAMES, stacksNamed, summaryTable, type ProjectOptions, type StackRun } from "./stacks.ts";
import { verify } from "./verify.ts";

const HELP = `Usage: npm run scenario -- <command> [--stack NAME | --scenario NAME] [--out DIR]

The scenario stacks (stacks/Pulumi.<stack>.yaml): ${SCENARIOS.join(", ")},
each -classic and -offload. Without --stack or --scenario: all ten. --stack
also takes a stack of your own (real hosts, say): any stack whose config
file names its scenario and variant (docs/stacks.md), for every command but
demo.

  preview  pulumi preview --json, touching no host, as text in URN order
           (the same plan gives the same text); with --out, one <stack>.txt
           per stack in DIR, or <stack>.failed with the error
  comment  the pull request's comment (markdown, on stdout) from the
           previews of the base and the head: --base DIR --head DIR
           [--artifact-url URL] (.github/workflows/preview.yml)
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
  --stack NAME      one stack, e.g. meter-offload or meter-offload-rack2
  --scenario NAME   both variants of one scenario, e.g. meter
  --out DIR         preview: write the previews there
  --project DIR     the Pulumi project (Pulumi.yaml, stacks/, node_modules)
                    there instead of this checkout, e.g. the base of a pull
                    request to preview; measurements still go to reports/
  --base DIR, --head DIR, --artifact-url URL
                    comment: the two trees' previews, where they are in full
  --runs N          measure: runs per stack (default ${DEFAULT_SETTINGS.runs})
  --seconds N       measure: seconds per iperf3 run (default ${DEFAULT_SETTINGS.seconds})
  --parallel N,M    measure: parallel stream counts (default ${DEFAULT_SETTINGS.parallel.join(",")})
`;

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

async function demo(stacks: string[], settings: MeasureSettings, project: ProjectOptions): Promise<boolean> {
  const lab = labLayout(DEFAULT_LAB_NAME);
  const runs: StackRun[] = [];
  try {
    say(`lab ${lab.name}: up`);
    await labUp(lab, () => {});
    for (const stack of stacks) runs.push(await runStack(stack, say, { ...project, measure: { dir: REPORTS, settings } }));
  } finally {
    say(`lab ${lab.name}: down`);
    await labDown(lab, () => {});
  }
  say(`\n${summaryTable(runs)}`);
  await report();
  return runs.every((r) => !r.error && r.verify?.every((c) => c.ok));
}

/** Every stack previewed, one failing not stopping the rest; true when all could be. */
async function preview(stacks: string[], project: ProjectOptions, out: string | undefined): Promise<boolean> {
  if (out) await mkdir(out, { recursive: true });
  let ok = true;
  for (const s of stacks) {
    const [kind, content] = await previewText(s, project).then(
      (text) => ["txt", text],
      (e: Error) => ["failed", `${e.message}\n`],
    );
    ok &&= kind === "txt";
    if (!out) say(`== ${s}${kind === "txt" ? "" : " FAILED"}\n${content}`);
    else {
      // Only one of the two, whatever an earlier run left.
      await rm(join(out, `${s}.${kind === "txt" ? "failed" : "txt"}`), { force: true });
      await writeFile(join(out, `${s}.${kind}`), content);
    }
  }
  return ok;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      stack: { type: "string" }, scenario: { type: "string" }, out: { type: "string" }, project: { type: "string" },
      base: { type: "string" }, head: { type: "string" }, "artifact-url": { type: "string" },
      runs: { type: "string" }, seconds: { type: "string" }, parallel: { type: "string" }, help: { type: "boolean", short: "h" },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const stacks = stacksNamed({ stack: values.stack, scenario: values.scenario, demo: command === "demo" });
  const project: ProjectOptions = { workDir: values.project };
  /** The stack, refused unless it is one of the project's; what it builds is said for one of your own. */
  const open = async (s: string, step: string) => {
    const { stack, scenario, variant } = await openStack(s, project);
    say(`${s}${STACK_NAMES.includes(s) ? "" : ` (${scenario} ${variant})`}: ${step}`);
    return stack;
  };
  switch (command) {
    case "demo":
      return (await demo(stacks, settingsFrom(values), project)) ? 0 : 1;
    case "measure":
      for (const s of stacks) {
        const [, file] = await measureStack(await open(s, "measure"), REPORTS, settingsFrom(values), (l) => say(`  ${l}`));
        say(`${s}: ${file}`);
      }
      await report();
      return 0;
    case "report":
      await report();
      return 0;
    case "preview":
      return (await preview(stacks, project, values.out)) ? 0 : 1;
    case "comment": {
      if (!values.base || !values.head) throw new Error("comment needs --base DIR and --head DIR");
      const [base, head] = await Promise.all([readPreviews(values.base), readPreviews(values.head)]);
      process.stdout.write(buildComment(base, head, { artifactUrl: values["artifact-url"] }));
      return 0;
    }
    case "up":
      for (const s of stacks) await (await open(s, "pulumi up")).up({ onOutput: (o) => process.stdout.write(o) });
      return 0;
    case "verify": {
      let ok = true;
      for (const s of stacks) {
        const results = await verify(await scenarioOutputs(await open(s, "verify")), (l) => say(`  ${l}`));
        ok &&= results.every((r) => r.ok);
      }
      return ok ? 0 : 1;
    }
    case "destroy":
      for (const s of stacks) await (await open(s, "pulumi destroy")).destroy({ onOutput: (o) => process.stdout.write(o) });
      return 0;
    case "recover":
      for (const s of stacks) await recoverStack(await open(s, "recover"), say);
      return 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n${HELP}`);
      return 2;
  }
}

exitWith("scenario", main);
