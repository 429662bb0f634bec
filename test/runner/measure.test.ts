// The measurement's arithmetic and the report, on a recorded /proc stat line
// and measurements put together from recorded iperf3 output, one on the lab
// and one on hardware.
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { cpuTicks, stat, type Measurement } from "../../runner/measure.ts";
import { chartSvg, chartValues, HARDWARE_LABEL, LAB_LABEL, markdownTable, SEED_LABEL, writeReport } from "../../runner/report.ts";
import { parseIperf } from "../../runner/traffic.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "../fixtures/traffic", name), "utf8");

test("CPU ticks are utime + stime, counted after the command name", () => {
  expect(cpuTicks(fixture("proc-stat.txt"))).toBe(665 + 1918);
  expect(cpuTicks("42 (a) b) c) S 1 2 3 4 5 6 7 8 9 10 100 200 0")).toBe(300);
});

test("median and spread", () => {
  expect(stat([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
  expect(stat([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4 });
});

describe("the report", () => {
  const { receivedBps, report } = parseIperf(fixture("iperf3-ok.json"));
  const m: Measurement = {
    stack: "virtio-relay-offload", scenario: "virtio-relay", variant: "offload", lab: true,
    facts: { kernel: "6.1.0", ovsVersion: "ovs-vswitchd (Open vSwitch) 3.1.0" },
    settings: { runs: 1, seconds: 1, parallel: [4], pings: 3 }, from: "vm1", to: "vm2",
    startedAt: "2026-11-30T00:00:00.000Z", finishedAt: "2026-11-30T00:00:10.000Z",
    runs: [{ startedAt: "2026-11-30T00:00:00.000Z", ping: { transmitted: 3, received: 3 }, streams: [{ streams: 1, receivedBps, datapathCpu: {}, report }] }],
    summary: {
      singleBps: stat([receivedBps]),
      parallelBps: { "4": stat([2 * receivedBps]) },
      pingAvgMs: stat([0.5]),
      datapathCpuPercent: { "relay vm1": stat([97]) },
    },
  };

  // The same scenario measured on the lab and, by a stack of one's own, on real hosts (its JSON says lab: false).
  const onLab: Measurement = { ...m, stack: "meter-offload", scenario: "meter", variant: "offload", from: "app1", to: "app2", meterRateMbps: 200, summary: { ...m.summary, pingAvgMs: undefined, datapathCpuPercent: {} } };
  const onHardware: Measurement = { ...onLab, stack: "meter-offload-rack2", lab: false, facts: { kernel: "5.10.0-rack", ovsVersion: "ovs-vswitchd (Open vSwitch) 2.17.9" } };
  const gbit = (receivedBps / 1e9).toFixed(3);

  test("the table holds the measured figures beside the seed's, each row labelled where it was measured", () => {
    const table = markdownTable([m, onHardware, onLab]);
    expect(table).toContain(`| virtio-relay | offload | virtio-relay-offload | lab | ${gbit} (${gbit}–${gbit}) | ×4: ${((2 * receivedBps) / 1e9).toFixed(3)}`);
    expect(table).toContain("relay vm1 97% | 5 (1 stream) | 0.265 | one relay core at 100%, both ways |");
    expect(table).toContain("| virtio-relay | classic | - | not measured |");
    const meter = table.split("\n").filter((l) => l.startsWith("| meter | offload |"));
    expect(meter.map((l) => l.split(" | ").slice(2, 4))).toEqual([["meter-offload", "lab"], ["meter-offload-rack2", "hardware"]]);
    expect(meter[1]).toContain(`| ${gbit} (${gbit}–${gbit}) vs meter 0.200 |`);
    expect(table).toContain("| stack | measured on | 1 stream, Gbit/s |");
    for (const label of [LAB_LABEL, HARDWARE_LABEL, SEED_LABEL]) expect(table).toContain(label);
  });

  test("the chart is an SVG holding each source's series, the hardware one apart from the lab's", async () => {
    const values = chartValues("meter", [onLab, onHardware]);
    expect(values).toContainEqual({ variant: "offload", series: "1 stream", source: LAB_LABEL, gbps: receivedBps / 1e9 });
    expect(values).toContainEqual({ variant: "offload (meter-offload-rack2)", series: "1 stream", source: HARDWARE_LABEL, gbps: receivedBps / 1e9 });
    expect(values.filter((v) => v.source === LAB_LABEL).every((v) => v.variant === "offload")).toBe(true);
    expect(chartValues("virtio-relay", [m])).toContainEqual({ variant: "offload", series: "1 stream", source: SEED_LABEL, gbps: 5 });
    const svg = await chartSvg("meter", [onLab, onHardware]);
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain("meter: classic vs offload");
    for (const label of [LAB_LABEL, HARDWARE_LABEL, "offload (meter-offload-rack2)", "4 streams", "1 stream"]) expect(svg).toContain(label);
  });

  test("the report says what each target ran", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ool-reports-"));
    try {
      for (const x of [onLab, onHardware]) await writeFile(join(dir, `${x.stack}.json`), JSON.stringify(x));
      await writeReport(dir);
      expect(await readFile(join(dir, "report.md"), "utf8")).toContain(
        "Measured on: hardware: kernel 5.10.0-rack, ovs-vswitchd (Open vSwitch) 2.17.9; lab: kernel 6.1.0, ovs-vswitchd (Open vSwitch) 3.1.0.",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
