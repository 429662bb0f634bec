// FlowSet against raw ovs-ofctl on one lab bridge, in one run: creating 10k
// and 100k flows, and changing one flow among them. Prints figures; asserts
// nothing. Usage: scripts/env node bench/flowset.ts [sizes...]  (root; makes
// and removes its own lab)
import { labDown, labUp } from "../lab/lab.ts";
import { labLayout } from "../lab/layout.ts";
import { flowSetProvider, type FlowSetInputs } from "../provider/flow.ts";
import { exec, timed } from "../provider/host.ts";
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

/** Seconds `what` takes. */
const time = async (what: () => Promise<unknown>): Promise<number> => (await timed(what))[1];

async function main() {
  await labUp(lab, () => {});
  try {
    await exec(host, vsctl([["add-br", "bench0"], ["set", "Bridge", "bench0", "datapath_type=netdev", "protocols=OpenFlow13,OpenFlow14"]]));
    const rows: string[][] = [["flows", "FlowSet create", "raw --bundle add-flows", "FlowSet one-flow change", "raw replace-flows"]];
    for (const n of sizes.length ? sizes : [10_000, 100_000]) {
      const inputs: FlowSetInputs = { host, bridge: "bench0", flows: flows(n), meters: [], owner: `bench/bench/FlowSet/f${n}`, providerVersion: PROVIDER_VERSION };
      const checked = (await flowSetProvider.check({}, inputs as never)).inputs as FlowSetInputs;
      const create = await time(() => flowSetProvider.create(checked));
      const changed = { ...checked, flows: flows(n, 1) };
      const change = await time(() => flowSetProvider.update("", { ...checked, appliedDigest: "", installedDigest: "", installedCount: n, cookie: "" }, changed));
      await flowSetProvider.delete("", { ...changed, appliedDigest: "", installedDigest: "", installedCount: n, cookie: "" });

      const file = (fs: FlowSpec[]) => fs.map((f) => flowModLine({ op: "add", flow: f }, "1")).join("\n") + "\n";
      const rawCreate = await time(() => exec(host, bundleArgv("bench0"), { stdin: file(flows(n)), timeoutMs: 600_000 }));
      const replaceFile = flows(n, 1).map((f) => flowModLine({ op: "add", flow: f }, "1").slice(4)).join("\n") + "\n";
      const rawChange = await time(() => exec(host, ofctl("OpenFlow14", ["--bundle", "replace-flows", "bench0", "-"]), { stdin: replaceFile, timeoutMs: 600_000 }));
      await exec(host, ofctl("OpenFlow14", ["del-flows", "bench0"]));
      rows.push([String(n), `${create.toFixed(2)} s`, `${rawCreate.toFixed(2)} s`, `${change.toFixed(2)} s`, `${rawChange.toFixed(2)} s`]);
    }
    for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  } finally {
    await labDown(lab, () => {});
  }
}

await main();
