// npm run scenario -- preview|comment|up|verify|measure|report|destroy|recover|restart-ovs|demo — the scenario stacks on the lab
// (or on the hosts their config names). Needs the toolchain on PATH (scripts/env).
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { labDown, labUp } from "../lab/lab.ts";
import { DEFAULT_LAB_NAME, labLayout } from "../lab/layout.ts";
import { exitWith } from "../lab/process.ts";
import { SCENARIOS } from "../stacks/config.ts";
import { DEFAULT_SETTINGS, measureSettings, type MeasureSettings } from "./measure.ts";
import { buildComment, readPreviews } from "./pr-comment.ts";
import { recoverStack } from "./recover.ts";
import { restartOvs } from "./restart.ts";
import { writeReport } from "./report.ts";
import { measureStack, openStack, previewText, REPORTS, runStack, scenarioOutputs, STACK_NAMES, stacksNamed, summaryTable, type ProjectOptions, type StackRun } from "./stacks.ts";
import { noneFailed, verify } from "./verify.ts";

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
           flow counters, conntrack) on a stack that is up; an offload
           stack's datapath flows in hardware, sampled during that traffic
           (on the lab: "offloaded: 0 (lab: no hardware)", n/a, not passed)
  measure  measure a stack that is up as the seed did (ping; iperf3, one
           stream and several at once; during each, every machine's CPU
           from /proc/stat, busiest core and all cores, as top shows it, and
           the datapath processes' CPU), write reports/<stack>-<time>.json,
           then the report
  report   write reports/report.md and reports/<scenario>.svg from the
           newest measurement of each stack, and print its tables
  destroy  pulumi destroy
  recover  after an up that was killed (SIGKILL, a second Ctrl-C, a lost
           terminal): remove the stack's lock if the pulumi that holds it no
           longer runs, stop the Pulumi plugins it left running, read back
           from the hosts what its unfinished creates made, clear the rest;
           then run up again (docs/stacks.md)
  restart-ovs
           --stack NAME [--host ROLE]: restart ovs-vswitchd where the
           stack's OvsConfig says keys wait for it (restartNeeded: tc-policy,
           dpdk-*, ...), or on host ROLE (e.g. host1) alone, then pulumi up
           --refresh, which puts back the flows and meters a restart drops.
           A real host: systemctl restart openvswitch-switch (or openvswitch)
           where systemd runs that unit, else ovs-ctl --no-ovsdb-server
           restart; neither there: refused, saying what to do by hand. A lab
           host: its own ovs-vswitchd, stopped by pid and started again.
           Nothing waiting and no --host: says so and does nothing
  demo     the lab (${DEFAULT_LAB_NAME}) up; for each stack up, verify, measure,
           destroy; the lab down; a summary table, then the report's.
           Leaves the machine as it found it (reports/ aside).

Options:
  --stack NAME      one stack, e.g. meter-offload or meter-offload-rack2
  --scenario NAME   both variants of one scenario, e.g. meter
  --host ROLE       restart-ovs: that host of the stack only, e.g. host1
  --out DIR         preview: write the previews there
  --project DIR     the Pulumi project (Pulumi.yaml, stacks/, node_modules)
                    there instead of this checkout, e.g. the base of a pull
                    request to preview; measurements still go to reports/
  --base DIR, --head DIR, --artifact-url URL
                    comment: the two trees' previews, where they are in full
  --runs N          measure, demo: runs per stack (default ${DEFAULT_SETTINGS.runs}, at most 20)
  --seconds N       measure, demo: seconds per iperf3 run (default ${DEFAULT_SETTINGS.seconds}, at most
                    3600; the seed's ran 100)
  --parallel N,M    measure, demo: stream counts of the multi-stream runs
                    (default ${DEFAULT_SETTINGS.parallel.join(",")}); with iperf3 before 3.16, N processes
                    on N ports, else one with -P N (the JSON says which)
  --rps NAME:DEV,…  measure, real hosts only: Receive Packet Steering over
                    all online CPUs on each receive queue of device DEV on
                    host or endpoint NAME (e.g. host2:ens1f0np0) while
                    measuring, each queue's rps_cpus written back as it was
                    after; refused on the lab (its hosts share this
                    machine's CPUs and have no NIC queues)
`;

const say = (line: string) => console.log(line);

/** The measure options, checked by the settings' schema; an error names the option. */
function settingsFrom(values: { runs?: string; seconds?: string; parallel?: string; rps?: string }): MeasureSettings {
  const input = { runs: values.runs, seconds: values.seconds, parallel: values.parallel?.split(","), rps: values.rps?.split(",") };
  const parsed = measureSettings.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const option = String(issue.path[0]);
  throw new Error(`--${option} ${issue.message}, not ${JSON.stringify(values[option as keyof typeof values])}`);
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
  return runs.every((r) => !r.error && r.verify && noneFailed(r.verify));
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
      host: { type: "string" }, runs: { type: "string" }, seconds: { type: "string" }, parallel: { type: "string" }, rps: { type: "string" }, help: { type: "boolean", short: "h" },
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
    case "demo": {
      const settings = settingsFrom(values);
      if (settings.rps.length) throw new Error("--rps is for stacks on real hosts: demo runs on the lab, where it is not applicable (its hosts share this machine's CPUs and have no NIC queues)");
      return (await demo(stacks, settings, project)) ? 0 : 1;
    }
    case "measure": {
      const settings = settingsFrom(values);
      for (const s of stacks) {
        const [, file] = await measureStack(await open(s, "measure"), REPORTS, settings, (l) => say(`  ${l}`));
        say(`${s}: ${file}`);
      }
      await report();
      return 0;
    }
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
        ok &&= noneFailed(results);
      }
      return ok ? 0 : 1;
    }
    case "destroy":
      for (const s of stacks) await (await open(s, "pulumi destroy")).destroy({ onOutput: (o) => process.stdout.write(o) });
      return 0;
    case "restart-ovs": {
      if (!values.stack) throw new Error("restart-ovs needs --stack NAME: it restarts Open vSwitch under one stack at a time");
      await restartOvs(await open(values.stack, "restart-ovs"), { role: values.host, onOutput: (o) => process.stdout.write(o) }, (l) => say(`  ${l}`));
      return 0;
    }
    case "recover":
      for (const s of stacks) await recoverStack(await open(s, "recover"), say);
      return 0;
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n${HELP}`);
      return 2;
  }
}

exitWith("scenario", main);
