// The measurement's arithmetic and the report, on a recorded /proc stat line
// and a measurement put together from recorded iperf3 output.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { cpuTicks, stat, type Measurement } from "../../runner/measure.ts";
import { chartSvg, chartValues, LAB_LABEL, markdownTable, SEED_LABEL } from "../../runner/report.ts";
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

  test("the table holds the measured figures beside the seed's, labelled", () => {
    const table = markdownTable([m]);
    const gbit = (receivedBps / 1e9).toFixed(3);
    expect(table).toContain(`| virtio-relay | offload | ${gbit} (${gbit}–${gbit}) | ×4: ${((2 * receivedBps) / 1e9).toFixed(3)}`);
    expect(table).toContain("relay vm1 97% | 5 (1 stream) | 0.26 | one relay core at 100% |");
    expect(table).toContain("| virtio-relay | classic | not measured |");
    expect(table).toContain(LAB_LABEL);
  });

  test("the chart is an SVG holding both sources' series", async () => {
    expect(chartValues("virtio-relay", [m])).toContainEqual({ variant: "offload", series: "1 stream", source: SEED_LABEL, gbps: 5 });
    const svg = await chartSvg("virtio-relay", [m]);
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain("virtio-relay: classic vs offload");
    for (const label of [LAB_LABEL, SEED_LABEL, "4 streams", "1 stream"]) expect(svg).toContain(label);
  });
});
