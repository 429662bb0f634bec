// Concurrency on one lab host: the engine creating and updating many
// resources of one bridge at once, and two stacks updating their flows on one
// bridge at the same moment, round after round. Nothing is lost, and a flow
// table sampled all along never shows a half-applied change.
import { afterAll, beforeAll, expect, test } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { exec } from "../../provider/host.ts";
import { dumpFlowsArgv } from "../../provider/ovs/ofctl.ts";
import { hostSnapshot, testLabName } from "../support/machine.ts";
import { testStack } from "../support/stack.ts";

const lab = labLayout(testLabName(), 1);
const host = lab.hosts[0].spec;
let before: unknown;
beforeAll(async () => {
  await labUp(lab, () => {});
  before = await hostSnapshot(host);
});
afterAll(() => labDown(lab, () => {}));

const dumpFlows = async (bridge: string) =>
  (await exec(host, dumpFlowsArgv(bridge))).stdout.split("\n").filter((l) => l.includes("actions=")).map((l) => l.trim().replace(/^cookie=0x[0-9a-f]+, /, ""));
const bridge = (name: string) => ({ kind: "Bridge", name: "br", args: { host, name, datapathType: "netdev", failMode: "secure" } });

test("many resources of one bridge created and changed at once by the engine: every change lands", async () => {
  const s = await testStack("resources");
  const N = 8;
  /** N ports, N meters and N flow sets on br-par, the flows of each using its meter; `v` varies every value. */
  const spec = (v: number) => [
    bridge("br-par"),
    ...Array.from({ length: N }, (_, i) => [
      { kind: "Port", name: `p${i}`, dependsOn: ["br"], args: { host, bridge: "br-par", name: `int${i}`, type: "internal", ofportRequest: 10 + i, mtuRequest: 1400 + v } },
      { kind: "Meter", name: `m${i}`, dependsOn: ["br"], args: { host, bridge: "br-par", meterId: 1 + i, unit: "kbps", bands: [{ type: "drop", rate: 1000 * (i + 1) + v }] } },
      { kind: "FlowSet", name: `f${i}`, dependsOn: [`p${i}`], args: { host, bridge: "br-par", meters: [`m${i}`], flows: [{ priority: 10 + v, match: `in_port=${10 + i}`, actions: `meter:${1 + i},output:${10 + ((i + 1) % N)}` }] } },
    ]).flat(),
  ];
  const expected = async (v: number) => {
    const mtus = await Promise.all(Array.from({ length: N }, (_, i) => exec(host, ["ovs-vsctl", "get", "Interface", `int${i}`, "mtu_request"]).then((r) => r.stdout.trim())));
    expect(mtus).toEqual(Array(N).fill(String(1400 + v)));
    const meters = (await exec(host, ["ovs-ofctl", "-O", "OpenFlow13", "dump-meters", "br-par"])).stdout;
    for (let i = 0; i < N; i++) expect(meters).toMatch(new RegExp(`meter=${1 + i} kbps bands=\\s*type=drop rate=${1000 * (i + 1) + v}\\b`));
    expect((await dumpFlows("br-par")).sort()).toEqual(Array.from({ length: N }, (_, i) => `priority=${10 + v},in_port=${10 + i} actions=meter:${1 + i},output:${10 + ((i + 1) % N)}`).sort());
  };
  try {
    expect((await s.up(spec(0))).summary.resourceChanges).toEqual({ create: 3 * N + 3 });
    await expected(0);
    // Every port, meter and flow set changes in the same up.
    expect((await s.up(spec(1))).summary.resourceChanges).toEqual({ same: 3, update: 3 * N });
    await expected(1);
    await s.refresh();
    expect((await s.preview(spec(1))).changeSummary).toEqual({ same: 3 * N + 3 });
    console.log(`concurrency: ${3 * N + 1} resources of one bridge created, then all updated, in single ups; no change lost`);
  } finally {
    await s.dispose();
  }
  expect(await hostSnapshot(host)).toEqual(before);
});

test("two stacks change their flows on one bridge at the same time, 3 rounds: none lost, none half-applied", async () => {
  const FLOWS = 40;
  const ROUNDS = 3;
  const owners = ["a", "b"] as const;
  const base = { a: 10000, b: 20000 };
  /** Owner `o`'s flows in round `r`: FLOWS flows whose tp_dst says whose and which round. */
  const flowSet = (o: (typeof owners)[number], r: number) => ({
    kind: "FlowSet", name: "flows", dependsOn: o === "a" ? ["br"] : [],
    args: { host, bridge: "br-two", flows: Array.from({ length: FLOWS }, (_, i) => ({ priority: 20, match: `tcp,tp_dst=${base[o] + 100 * r + i}`, actions: "drop" })) },
  });
  const stacks = { a: await testStack("resources", { stackName: "a" }), b: await testStack("resources", { stackName: "b" }) };
  const specFor = (o: (typeof owners)[number], r: number) => (o === "a" ? [bridge("br-two"), flowSet("a", r)] : [flowSet("b", r)]);
  /** Per owner, the rounds a table shows and how many flows. */
  const whose = (lines: string[]) => {
    const seen = { a: new Map<number, number>(), b: new Map<number, number>() };
    for (const l of lines) {
      const port = Number(/tp_dst=(\d+)/.exec(l)?.[1]);
      const o = port >= base.b ? "b" : "a";
      const round = Math.floor((port - base[o]) / 100);
      seen[o].set(round, (seen[o].get(round) ?? 0) + 1);
    }
    return seen;
  };
  let samples = 0;
  const halfApplied: string[] = [];
  try {
    await stacks.a.up(specFor("a", 0));
    await stacks.b.up(specFor("b", 0));
    for (let r = 1; r <= ROUNDS; r++) {
      let running = true;
      const sampler = (async () => {
        while (running) {
          const seen = whose(await dumpFlows("br-two"));
          samples++;
          for (const o of owners) {
            const state = [...seen[o].entries()];
            if (state.length !== 1 || state[0][1] !== FLOWS) halfApplied.push(`round ${r}, ${o}: ${JSON.stringify(state)}`);
          }
        }
      })();
      await Promise.all(owners.map((o) => stacks[o].up(specFor(o, r))));
      running = false;
      await sampler;
      const seen = whose(await dumpFlows("br-two"));
      expect(owners.map((o) => [...seen[o].entries()])).toEqual([[[r, FLOWS]], [[r, FLOWS]]]);
    }
    console.log(`two stacks on one bridge: ${ROUNDS} rounds of simultaneous ups, ${FLOWS} flows each; ${samples} flow tables sampled during them, ${halfApplied.length} half-applied`);
    expect(halfApplied).toEqual([]);
    await stacks.b.destroy();
    await stacks.a.destroy();
  } finally {
    await stacks.b.dispose();
    await stacks.a.dispose();
  }
  expect(await hostSnapshot(host)).toEqual(before);
});
