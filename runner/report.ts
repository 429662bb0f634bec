// The comparison report: classic beside offload per scenario, the measured
// figures (from the measurement JSON files, each labelled lab or hardware by
// where it was measured) beside the seed's hardware ones, as a Markdown table,
// a second one of each machine's CPU during the streams as top shows it
// (busiest core and all cores: user, system, softirq), and one Vega-Lite
// chart per scenario rendered to SVG.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { SCENARIOS, VARIANTS, type Scenario } from "../stacks/config.ts";
import type { MachineCpuSummary, Measurement } from "./measure.ts";
import { SEED } from "./seed.ts";

export const LAB_LABEL = "lab (userspace-datapath emulation)";
export const HARDWARE_LABEL = "hardware (real hosts from the stack's config)";
export const SEED_LABEL = "seed (Netronome SmartNIC hardware)";

/** Where a measurement was made, as its JSON records it (`lab`: every host a namespace on this machine). */
const targetOf = (m: Measurement) => (m.lab ? "lab" : "hardware");
const labelOf = (m: Measurement) => (m.lab ? LAB_LABEL : HARDWARE_LABEL);
/** A scenario's measurements of one variant (any stack that builds it), by stack name. */
const measured = (measurements: Measurement[], scenario: Scenario, variant: string) =>
  measurements.filter((m) => m.scenario === scenario && m.variant === variant).sort((a, b) => a.stack.localeCompare(b.stack));

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

/** The Markdown table: one row per stack measured (or a scenario's variant not measured), the seed's figures beside. */
export function markdownTable(measurements: Measurement[]): string {
  const rows: string[] = [];
  for (const scenario of SCENARIOS) {
    for (const variant of VARIANTS) {
      const seed = SEED[scenario][variant];
      const seedTput = [seed.singleGbps !== undefined ? `${seed.singleGbps} (1 stream)` : "", seed.parallelGbps !== undefined ? `${seed.parallelGbps} (multi)` : ""].filter(Boolean).join(", ") || "-";
      const seedCells = `${seedTput} | ${seed.pingMs ?? "-"} | ${seed.note} |`;
      const ms = measured(measurements, scenario, variant);
      if (!ms.length) rows.push(`| ${scenario} | ${variant} | - | not measured | | | | | ${seedCells}`);
      for (const m of ms) {
        const single = spread(m.summary.singleBps, gbps) + (m.meterRateMbps ? ` vs meter ${(m.meterRateMbps / 1000).toFixed(3)}` : "");
        const parallel = Object.entries(m.summary.parallelBps).map(([n, s]) => `×${n}: ${spread(s, gbps)}`).join("; ");
        const ping = m.summary.pingAvgMs ? spread(m.summary.pingAvgMs, (n) => n.toFixed(2)) : "-";
        const cpu = Object.entries(m.summary.datapathCpuPercent).map(([p, s]) => `${p} ${s.median.toFixed(0)}%`).join(", ");
        rows.push(`| ${scenario} | ${variant} | ${m.stack} | ${targetOf(m)} | ${single} | ${parallel} | ${ping} | ${cpu} | ${seedCells}`);
      }
    }
  }
  return [
    "| scenario | variant | stack | measured on | 1 stream, Gbit/s | parallel, Gbit/s | ping avg, ms | datapath CPU (1 stream, % of a core) | seed: Gbit/s | seed: ping, ms | seed: notes |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
    `Measured figures: median (min–max) of the runs; "measured on" says where: ${LAB_LABEL} — they show the stacks work, not what SmartNIC hardware does — or ${HARDWARE_LABEL}. Seed figures: ${SEED_LABEL}.`,
  ].join("\n");
}

const pct = (n: number) => n.toFixed(0);
/** top's order and words: "2 us, 58 sy, 33 si, 7 id" (medians). */
const topLine = (s: MachineCpuSummary["all"]) => `${pct(s.user.median)} us, ${pct(s.system.median)} sy, ${pct(s.softirq.median)} si, ${pct(s.idle.median)} id`;
const cores = (c: { cores: string[] }) => [...new Set(c.cores)].sort().join(", ");

function cpuRows(m: Measurement, lead: string): string[] {
  if (!m.summary.cpu) return [`${lead} - | not recorded (measured before per-CPU figures were) | | | |`];
  return Object.entries(m.summary.cpu).flatMap(([streams, machines]) =>
    machines.map((c) => {
      const where = `${c.hosts.join(", ")} (${c.cpus} CPUs${c.hosts.length > 1 ? ", one machine" : ""})`;
      const softirq = cores(c.mostSoftirq) === cores(c.busiest) ? "the busiest" : `${cores(c.mostSoftirq)}: ${pct(c.mostSoftirq.share.softirq.median)} si`;
      return `${lead} ${streams} | ${where} | ${cores(c.busiest)}: ${topLine(c.busiest.share)} | ${topLine(c.all)} | ${softirq} |`;
    }),
  );
}

/** The CPU table: per scenario, classic then offload, each stack's machines during each stream count, as top shows them. */
export function cpuTable(measurements: Measurement[]): string {
  const rows: string[] = [];
  for (const scenario of SCENARIOS) {
    for (const variant of VARIANTS) {
      const ms = measured(measurements, scenario, variant);
      if (!ms.length) rows.push(`| ${scenario} | ${variant} | - | not measured | | | | | |`);
      for (const m of ms) rows.push(...cpuRows(m, `| ${scenario} | ${variant} | ${m.stack} | ${targetOf(m)} |`));
    }
  }
  return [
    "| scenario | variant | stack | measured on | streams | machine: hosts (CPUs) | busiest core, % | all cores, % | most softirq |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows,
    "",
    "CPU during each stream, from /proc/stat on every machine under the stack's hosts, as top shows it: the busiest core (the least idle; which it was, each run's) " +
      "and all cores together, like top's %CpuN and %Cpu(s) lines — us user, sy system, si softirq, id idle (hi, ni, wa, st in the JSON); median of the runs. " +
      `Hosts that are network namespaces of one machine share its CPUs and its one row: on the ${LAB_LABEL}, every host, guest and process of the lab, and whatever else runs on this machine. ` +
      "The seed's own top figures are in the notes column above.",
  ].join("\n");
}

/** The chart's data: one row per variant (with its stack's name when that is not the built-in one), series and source. */
export function chartValues(scenario: Scenario, measurements: Measurement[]) {
  const values: { variant: string; series: string; source: string; gbps: number }[] = [];
  for (const variant of VARIANTS) {
    for (const m of measured(measurements, scenario, variant)) {
      const bar = m.stack === `${scenario}-${variant}` ? variant : `${variant} (${m.stack})`;
      values.push({ variant: bar, series: "1 stream", source: labelOf(m), gbps: m.summary.singleBps.median / 1e9 });
      for (const [n, s] of Object.entries(m.summary.parallelBps)) values.push({ variant: bar, series: `${n} streams`, source: labelOf(m), gbps: s.median / 1e9 });
    }
    const seed = SEED[scenario][variant];
    if (seed.singleGbps !== undefined) values.push({ variant, series: "1 stream", source: SEED_LABEL, gbps: seed.singleGbps });
    if (seed.parallelGbps !== undefined) values.push({ variant, series: "multi-flow", source: SEED_LABEL, gbps: seed.parallelGbps });
  }
  return values;
}

/** A grouped bar chart, classic beside offload, the lab, hardware measured and the seed in separate panels (their scales differ by far). */
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
        // A stack of one's own is named beside its variant: past Vega's default 180 px, labels are cut.
        x: { field: "variant", type: "nominal", title: null, axis: { labelLimit: 400 } },
        xOffset: { field: "series", type: "nominal" },
        y: { field: "gbps", type: "quantitative", title: "Gbit/s" },
        color: { field: "series", type: "nominal", title: "TCP" },
      },
    },
    resolve: { scale: { x: "independent", y: "independent" } },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  return view.toSVG();
}

/** Writes report.md and one <scenario>.svg per scenario measured into `dir`; returns the Markdown tables. */
export async function writeReport(dir: string): Promise<string> {
  const measurements = await latestMeasurements(dir);
  const table = `${markdownTable(measurements)}\n\n## CPU during the streams\n\n${cpuTable(measurements)}`;
  const charts: string[] = [];
  for (const scenario of SCENARIOS.filter((s) => measurements.some((m) => m.scenario === s))) {
    await writeFile(join(dir, `${scenario}.svg`), await chartSvg(scenario, measurements));
    charts.push(`![${scenario}](${scenario}.svg)`);
  }
  const facts = [...new Set(measurements.map((m) => `${targetOf(m)}: kernel ${m.facts.kernel}, ${m.facts.ovsVersion}`))].sort().join("; ");
  await writeFile(join(dir, "report.md"), `# Classic vs offload\n\n${table}\n\nMeasured on: ${facts}.\n\n${charts.join("\n")}\n`);
  return table;
}
