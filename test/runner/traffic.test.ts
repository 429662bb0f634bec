// The traffic parsers on recorded real ping and iperf3 output (test/fixtures/traffic/README.md).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parseIperf, parseIperfVersion, parsePing } from "../../runner/traffic.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "../fixtures/traffic", name), "utf8");

describe("parsePing", () => {
  test("answers and round-trip times", () => {
    expect(parsePing(fixture("ping-ok.txt"))).toEqual({ transmitted: 3, received: 3, rttMs: { min: 0.052, avg: 0.079, max: 0.134, mdev: 0.038 } });
  });
  test("no answer is a result without times", () => {
    expect(parsePing(fixture("ping-none.txt"))).toEqual({ transmitted: 3, received: 0, rttMs: undefined });
  });
  test("output without a summary is an error", () => {
    expect(() => parsePing("ping: connect: Network is unreachable\n")).toThrow(/no ping summary in: ping: connect: Network is unreachable/);
  });
});

describe("parseIperf", () => {
  test("the receiver's rate and the raw report", () => {
    const r = parseIperf(fixture("iperf3-ok.json"));
    expect(r.receivedBps).toBeGreaterThan(1e9);
    expect((r.report as { start: { version: string } }).start.version).toBe("iperf 3.12");
  });
  test("iperf3's own error is the error", () => {
    expect(() => parseIperf(fixture("iperf3-refused.json"))).toThrow("iperf3: unable to connect to server: Connection refused");
  });
});

describe("parseIperfVersion", () => {
  test.each([
    ["iperf3-version-3.12.txt", { version: "3.12", major: 3, minor: 12 }],
    ["iperf3-version-3.19.txt", { version: "3.19", major: 3, minor: 19 }],
  ])("%s", (file, version) => {
    expect(parseIperfVersion(fixture(file))).toEqual(version);
  });
  test("output without a version is an error", () => {
    expect(() => parseIperfVersion("iperf3: command not found\n")).toThrow("no iperf3 version in: iperf3: command not found");
  });
});
