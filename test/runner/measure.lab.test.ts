// Measuring a stack that is up, end to end on a lab: valid JSON, a report
// whose figures are that JSON's, and a chart holding its series.
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import type { Measurement } from "../../runner/measure.ts";
import { LAB_LABEL, writeReport } from "../../runner/report.ts";
import { measureStack } from "../../runner/stacks.ts";
import { testLabName } from "../support/machine.ts";
import { projectCopy, type ProjectCopy } from "../support/project.ts";

const lab = labLayout(testLabName(), 2);
let project: ProjectCopy;
let reports: string;

beforeAll(async () => {
  await labUp(lab, () => {});
  project = await projectCopy();
  reports = await mkdtemp(join(tmpdir(), "ool-reports-"));
});
afterAll(async () => {
  await project?.remove();
  await labDown(lab, () => {});
  await rm(reports, { recursive: true, force: true });
});

test("measure writes the runs as JSON; the report and the chart are made from it", async () => {
  const stack = await project.stack("internal-vs-netvf-offload", lab.name);
  try {
    await stack.up();
    const settings = { runs: 2, seconds: 1, parallel: [2], pings: 3 };
    const [m, file] = await measureStack(stack, reports, settings, (l) => console.log(l));
    const saved = JSON.parse(await readFile(file, "utf8")) as Measurement;
    expect(saved).toEqual(m);
    expect(saved).toMatchObject({ stack: "internal-vs-netvf-offload", scenario: "internal-vs-netvf", variant: "offload", lab: true, settings, from: "app1", to: "app2" });
    expect(saved.facts.ovsVersion).toMatch(/Open vSwitch/);
    expect(saved.runs).toHaveLength(2);
    expect(saved.runs[0].streams.map((s) => s.streams)).toEqual([1, 2]);
    expect((saved.runs[0].streams[0].report as { start: { connected: unknown[] } }).start.connected).toHaveLength(1);
    expect(saved.summary.singleBps.median).toBeGreaterThan(0);
    expect(Object.keys(saved.summary.datapathCpuPercent).sort()).toEqual(["ovs-vswitchd host1", "ovs-vswitchd host2"]);
    console.log(`measured: ${JSON.stringify(saved.summary)}`);

    const table = await writeReport(reports);
    expect(table).toContain(`| internal-vs-netvf | offload | internal-vs-netvf-offload | lab | ${(saved.summary.singleBps.median / 1e9).toFixed(3)} (`);
    expect(await readdir(reports)).toEqual(expect.arrayContaining(["report.md", "internal-vs-netvf.svg"]));
    const svg = await readFile(join(reports, "internal-vs-netvf.svg"), "utf8");
    expect(svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
    for (const label of [LAB_LABEL, "1 stream", "2 streams", "offload"]) expect(svg).toContain(label);
  } finally {
    await stack.destroy();
  }
});
