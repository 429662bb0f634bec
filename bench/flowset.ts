// FlowSet against raw ovs-ofctl on one lab bridge, in one run: creating n
// flows, and changing one flow among them, each with the commands (round
// trips) it took. Prints figures and ratios; asserts nothing.
// Usage: scripts/env node bench/flowset.ts [sizes...]  (root; makes and removes its own lab)
import { labDown, labUp } from "../lab/lab.ts";
import { labLayout } from "../lab/layout.ts";
import { flowSetProvider, type FlowSetInputs, type FlowSetOutputs } from "../provider/flow.ts";
import { exec, timed, transport, withExecutor } from "../provider/host.ts";
import { bundleArgv, flowModLine, ofctl, type FlowSpec } from "../provider/ovs/ofctl.ts";
import { vsctl } from "../provider/ovs/vsctl.ts";
import { PROVIDER_VERSION } from "../provider/resource.ts";

const sizes = process.argv.slice(2).map(Number);
const lab = labLayout(`bench${process.pid % 1000}`, 1);
const host = lab.hosts[0].spec;

const flows = (n: number, mark = 0): FlowSpec[] =>
  Array.from({ length: n }, (_, i) => ({
    table: 0,
    priority: 100,
    match: `reg0=${i}`,
    actions: `output:${i === 0 ? 2 + mark : 1}`,
  }));

/** Seconds `what` takes, and the commands it ran. */
async function measured(what: () => Promise<unknown>): Promise<[number, number]> {
  let commands = 0;
  const [, seconds] = await timed(() =>
    withExecutor((h, argv, options) => {
      commands++;
      return transport(h, argv, options);
    }, what),
  );
  return [seconds, commands];
}

const addFile = (fs: FlowSpec[]) => fs.map((flow) => flowModLine({ op: "add", flow }, "1")).join("\n") + "\n";
const replaceFile = (fs: FlowSpec[]) => fs.map((flow) => flowModLine({ op: "add", flow }, "1").slice("add ".length)).join("\n") + "\n";

async function main() {
  await labUp(lab, () => {});
  try {
    await exec(host, vsctl([["add-br", "bench0"], ["set", "Bridge", "bench0", "datapath_type=netdev", "protocols=OpenFlow13,OpenFlow14"]]));
    const rows = [
      ["flows", "FlowSet create (commands)", "raw --bundle add-flows", "÷ raw", "FlowSet one-flow change (commands)", "raw --bundle replace-flows", "÷ raw"],
      ["---", "---", "---", "---", "---", "---", "---"],
    ];
    for (const n of sizes.length ? sizes : [10_000, 100_000]) {
      const inputs: FlowSetInputs = { host, bridge: "bench0", flows: flows(n), meters: [], owner: `bench/bench/FlowSet/f${n}/0123456789abcdef`, providerVersion: PROVIDER_VERSION };
      const checked = (await flowSetProvider.check({}, inputs as never)).inputs as FlowSetInputs;
      let made: FlowSetOutputs | undefined;
      const [create, createCommands] = await measured(async () => (made = (await flowSetProvider.create(checked)).outs as FlowSetOutputs));
      const changed = { ...checked, flows: flows(n, 1) };
      const [change, changeCommands] = await measured(() => flowSetProvider.update("", made!, changed));
      await flowSetProvider.delete("", made!);

      const [rawCreate] = await measured(() => exec(host, bundleArgv("bench0"), { stdin: addFile(flows(n)), timeoutMs: 600_000 }));
      const [rawChange] = await measured(() => exec(host, ofctl("OpenFlow14", ["--bundle", "replace-flows", "bench0", "-"]), { stdin: replaceFile(flows(n, 1)), timeoutMs: 600_000 }));
      await exec(host, ofctl("OpenFlow14", ["del-flows", "bench0"]));
      rows.push([
        String(n),
        `${create.toFixed(2)} s (${createCommands})`,
        `${rawCreate.toFixed(2)} s`,
        `${(create / rawCreate).toFixed(2)}×`,
        `${change.toFixed(3)} s (${changeCommands})`,
        `${rawChange.toFixed(2)} s`,
        `${(change / rawChange).toFixed(3)}×`,
      ]);
    }
    for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  } finally {
    await labDown(lab, () => {});
  }
}

await main();
