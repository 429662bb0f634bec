// The comparison report: classic beside offload per scenario, the lab's
// figures (from the measurement JSON files) beside the seed's hardware ones,
// as a Markdown table and one Vega-Lite chart per scenario rendered to SVG.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { SCENARIOS, VARIANTS, type Scenario } from "../stacks/config.ts";
import type { Measurement } from "./measure.ts";
import { SEED } from "./seed.ts";

export const LAB_LABEL = "lab (userspace-datapath emulation)";
export const SEED_LABEL = "seed (Netronome SmartNIC hardware)";

/** The newest measurement of each stack among the JSON files in `dir`. */
export async function latestMeasurements(dir: string): Promise<Measurement[]> {
  const newest = new Map<string, Measurement>();
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".json")).sort()) {
    const m = JSON.parse(await readFile(join(dir, file), "utf8")) as Measurement;
    if (!newest.has(m.stack) || newest.get(m.stack)!.startedAt < m.startedAt) newest.set(m.stack, m);
  }
  return [...newest.values()];
}

const gbps = (bps: number) => (bps / 1e9).toFixed(3);
const spread = (s: { median: number; min: number; max: number }, f: (n: number) => string) => `${f(s.median)} (${f(s.min)}–${f(s.max)})`;

/** The Markdown table: one row per stack measured, the seed's figures beside. */
export function markdownTable(measurements: Measurement[]): string {
  const rows: string[] = [];
  for (const scenario of SCENARIOS) {
    for (const variant of VARIANTS) {
      const m = measurements.find((x) => x.scenario === scenario && x.variant === variant);
      const seed = SEED[scenario][variant];
      const seedTput = [seed.singleGbps !== undefined ? `${seed.singleGbps} (1 stream)` : "", seed.parallelGbps !== undefined ? `${seed.parallelGbps} (multi)` : ""].filter(Boolean).join(", ") || "-";
      if (!m) {
        rows.push(`| ${scenario} | ${variant} | not measured | | | | ${seedTput} | ${seed.pingMs ?? "-"} | ${seed.note} |`);
        continue;
      }
      const single = spread(m.summary.singleBps, gbps) + (m.meterRateMbps ? ` vs meter ${(m.meterRateMbps / 1000).toFixed(3)}` : "");
      const parallel = Object.entries(m.summary.parallelBps).map(([n, s]) => `×${n}: ${spread(s, gbps)}`).join("; ");
      const ping = m.summary.pingAvgMs ? spread(m.summary.pingAvgMs, (n) => n.toFixed(2)) : "-";
      const cpu = Object.entries(m.summary.datapathCpuPercent).map(([p, s]) => `${p} ${s.median.toFixed(0)}%`).join(", ");
      rows.push(`| ${scenario} | ${variant} | ${single} | ${parallel} | ${ping} | ${cpu} | ${seedTput} | ${seed.pingMs ?? "-"} | ${seed.note} |`);
    }
  }
  return [
    `| scenario | variant | lab: 1 stream, Gbit/s | lab: parallel, Gbit/s | lab: ping avg, ms | lab: datapath CPU (1 stream, % of a core) | seed: Gbit/s | seed: ping, ms | seed: notes |`,
    "|---|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
    `Lab figures: median (min–max) of the runs, ${LAB_LABEL} — they show the stacks work, not what SmartNIC hardware does. Seed figures: ${SEED_LABEL}.`,
  ].join("\n");
}

/** The chart's data: one row per variant, series and source. */
export function chartValues(scenario: Scenario, measurements: Measurement[]) {
  const values: { variant: string; series: string; source: string; gbps: number }[] = [];
  for (const variant of VARIANTS) {
    const m = measurements.find((x) => x.scenario === scenario && x.variant === variant);
    if (m) {
      values.push({ variant, series: "1 stream", source: LAB_LABEL, gbps: m.summary.singleBps.median / 1e9 });
      for (const [n, s] of Object.entries(m.summary.parallelBps)) values.push({ variant, series: `${n} streams`, source: LAB_LABEL, gbps: s.median / 1e9 });
    }
    const seed = SEED[scenario][variant];
    if (seed.singleGbps !== undefined) values.push({ variant, series: "1 stream", source: SEED_LABEL, gbps: seed.singleGbps });
    if (seed.parallelGbps !== undefined) values.push({ variant, series: "multi-flow", source: SEED_LABEL, gbps: seed.parallelGbps });
  }
  return values;
}

/** A grouped bar chart, classic beside offload, the lab and the seed in separate panels (their scales differ by far). */
export async function chartSvg(scenario: Scenario, measurements: Measurement[]): Promise<string> {
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: `${scenario}: classic vs offload`,
    data: { values: chartValues(scenario, measurements) },
    facet: { column: { field: "source", type: "nominal", title: null } },
    spec: {
      width: 160,
      height: 200,
      mark: "bar",
      encoding: {
        x: { field: "variant", type: "nominal", title: null },
        xOffset: { field: "series", type: "nominal" },
        y: { field: "gbps", type: "quantitative", title: "Gbit/s" },
        color: { field: "series", type: "nominal", title: "TCP" },
      },
    },
    resolve: { scale: { y: "independent" } },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  return view.toSVG();
}

/** Writes report.md and one <scenario>.svg per scenario measured into `dir`; returns the Markdown table. */
export async function writeReport(dir: string): Promise<string> {
  const measurements = await latestMeasurements(dir);
  const table = markdownTable(measurements);
  const charts: string[] = [];
  for (const scenario of SCENARIOS.filter((s) => measurements.some((m) => m.scenario === s))) {
    await writeFile(join(dir, `${scenario}.svg`), await chartSvg(scenario, measurements));
    charts.push(`![${scenario}](${scenario}.svg)`);
  }
  const facts = [...new Set(measurements.map((m) => `kernel ${m.facts.kernel}, ${m.facts.ovsVersion}`))].join("; ");
  await writeFile(join(dir, "report.md"), `# Classic vs offload\n\n${table}\n\nMeasured on: ${facts}.\n\n${charts.join("\n")}\n`);
  return table;
}
