// npm run scenario -- up|verify|destroy|demo — the scenario stacks on the lab
// (or on the hosts their config names). Needs the toolchain on PATH (scripts/env).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { labDown, labUp } from "../lab/lab.ts";
import { DEFAULT_LAB_NAME, labLayout } from "../lab/layout.ts";
import { SCENARIOS } from "../stacks/config.ts";
import { previewText, runStack, scenarioOutputs, selectStack, STACK_NAMES, summaryTable, type StackRun } from "./stacks.ts";
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
  destroy  pulumi destroy
  demo     the lab (${DEFAULT_LAB_NAME}) up; for each stack up, verify, destroy;
           the lab down; a summary table. Leaves the machine as it found it.

Options:
  --stack NAME      one stack, e.g. meter-offload
  --scenario NAME   both variants of one scenario, e.g. meter
  --out DIR         preview: write the previews there
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

async function demo(stacks: string[]): Promise<boolean> {
  const lab = labLayout(DEFAULT_LAB_NAME);
  const runs: StackRun[] = [];
  try {
    say(`lab ${lab.name}: up`);
    await labUp(lab, () => {});
    for (const stack of stacks) runs.push(await runStack(stack, say));
  } finally {
    say(`lab ${lab.name}: down`);
    await labDown(lab, () => {});
  }
  say(`\n${summaryTable(runs)}`);
  return runs.every((r) => !r.error && r.verify?.every((c) => c.ok));
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { stack: { type: "string" }, scenario: { type: "string" }, out: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const stacks = stacksFor(values.stack, values.scenario);
  switch (command) {
    case "demo":
      return (await demo(stacks)) ? 0 : 1;
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
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n${HELP}`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    console.error(`scenario: ${e.message}`);
    process.exit(1);
  },
);
