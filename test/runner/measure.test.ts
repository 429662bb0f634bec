// The measurement's arithmetic, settings and choices, and the report, on
// recorded /proc/<pid>/stat and /proc/stat output, iperf3 versions, and
// measurements put together from recorded iperf3 output, one on the lab and
// one on hardware.
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { machineCpu, parseProcStat } from "../../runner/cpu.ts";
import { cpuTicks, measureSettings, multiStreamMethod, rpsHosts, stat, summarizeCpu, type Measurement } from "../../runner/measure.ts";
import { chartSvg, chartValues, cpuTable, HARDWARE_LABEL, LAB_LABEL, markdownTable, SEED_LABEL, writeReport } from "../../runner/report.ts";
import { parseIperf, parseIperfVersion } from "../../runner/traffic.ts";
import type { ScenarioOutputs } from "../../stacks/expectations.ts";

const fixture = (name: string, dir = "traffic") => readFileSync(join(import.meta.dirname, "../fixtures", dir, name), "utf8");
const [before, after] = ["proc-stat-before.txt", "proc-stat-after.txt"].map((f) => parseProcStat(fixture(f, "cpu")));

test("CPU ticks are utime + stime, counted after the command name", () => {
  expect(cpuTicks(fixture("proc-stat.txt"))).toBe(665 + 1918);
  expect(cpuTicks("42 (a) b) c) S 1 2 3 4 5 6 7 8 9 10 100 200 0")).toBe(300);
});

test("median and spread", () => {
  expect(stat([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3 });
  expect(stat([4, 1, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4 });
});

test("a machine's CPU over the runs: each figure's median and spread, and which core was the busiest each run", () => {
  const recorded = machineCpu(["host1", "host2"], before, after);
  const idle = machineCpu(["host1", "host2"], before, before);
  const [summary] = summarizeCpu([[recorded], [idle], [recorded]]);
  expect(summary).toMatchObject({ hosts: ["host1", "host2"], cpus: 2, busiest: { cores: ["cpu1", "cpu0", "cpu1"] } });
  expect(summary.busiest.share.softirq).toEqual({ median: recorded.busiest.softirq, min: 0, max: recorded.busiest.softirq });
  expect(summary.all.system.median).toBeCloseTo((288 / 608) * 100);
});

describe("the settings (what measure's options become)", () => {
  test("defaults", () => {
    expect(measureSettings.parse({})).toEqual({ runs: 3, seconds: 3, parallel: [4], pings: 10, rps: [] });
  });
  test("the options' strings, long runs, and RPS targets", () => {
    expect(measureSettings.parse({ runs: "1", seconds: "100", parallel: ["2", "8"], rps: ["host2:ens1f0np0", "app2:netvf0"] })).toEqual({
      runs: 1, seconds: 100, parallel: [2, 8], pings: 10,
      rps: [{ on: "host2", device: "ens1f0np0" }, { on: "app2", device: "netvf0" }],
    });
  });
  test.each([
    [{ runs: "0" }, ["runs"], "must be a whole number from 1 to 20"],
    [{ seconds: "1.5" }, ["seconds"], "must be a whole number from 1 to 3600"],
    [{ seconds: "x" }, ["seconds"], "must be a whole number from 1 to 3600"],
    [{ parallel: ["4", "1"] }, ["parallel", 1], "must be a whole number from 2 to 64"],
    [{ parallel: ["4", "4"] }, ["parallel"], "must name each stream count once"],
    [{ rps: ["ens1f0"] }, ["rps", 0], "must be NAME:DEVICE, a host or endpoint of the stack and a network device there, e.g. host2:ens1f0np0"],
  ])("%j is refused", (input, path, message) => {
    expect(measureSettings.safeParse(input).error?.issues.map((i) => [i.path, i.message])).toEqual([[path, message]]);
  });
});

describe("multi-stream runs", () => {
  const [v312, v319] = ["iperf3-version-3.12.txt", "iperf3-version-3.19.txt"].map((f) => parseIperfVersion(fixture(f)));
  const inNetns = { exec: { kind: "netns" as const, netns: "x-app1" }, address: "198.51.100.1" };
  const inGuest = { console: "/run/x/vm1.sock", address: "198.51.100.1" };

  test("iperf3 before 3.16 runs -P streams in one thread: one process per stream, on ports of their own", () => {
    expect(multiStreamMethod(inNetns, { from: v312, to: v312 })).toEqual({
      method: "processes", iperf3: { from: "3.12", to: "3.12" },
      why: "iperf3 before 3.16 (here 3.12 → 3.12) runs the -P streams in one thread: one process per stream instead, each on a port of its own",
    });
    expect(multiStreamMethod(inNetns, { from: v319, to: v312 }).method).toBe("processes");
  });
  test("3.16 and later at both ends: one process, its -P streams in threads", () => {
    expect(multiStreamMethod(inNetns, { from: v319, to: v319 })).toMatchObject({ method: "parallel-streams", iperf3: { from: "3.19", to: "3.19" } });
  });
  test("a sender behind a guest's console, which runs one command at a time, runs one process with -P and says so", () => {
    expect(multiStreamMethod(inGuest, { from: v312, to: v312 })).toMatchObject({ method: "parallel-streams", why: expect.stringContaining("serial console, which runs one command at a time") });
  });
});

describe("--rps: where each device is, refused on the lab before any host is touched", () => {
  const ssh = (address: string) => ({ kind: "ssh" as const, address, user: "root" });
  const outputs = (hosts: ScenarioOutputs["hosts"]): ScenarioOutputs => ({
    scenario: "internal-vs-netvf", variant: "classic", bridge: "br0", hosts, expectations: [], measure: { from: "app1", to: "app2" },
    endpoints: { app2: { exec: { ...ssh("203.0.113.2"), netns: "s-app2" }, address: "198.51.100.2" }, vm1: { console: "/run/x/vm1.sock", address: "198.51.100.5" } },
  });
  const real = outputs({ host1: ssh("203.0.113.1"), host2: ssh("203.0.113.2") });

  test("a host by role, an endpoint in a namespace by name", () => {
    expect(rpsHosts(real, [{ on: "host2", device: "ens1f0np0" }, { on: "app2", device: "eth0" }])).toEqual([
      { on: "host2", device: "ens1f0np0", host: ssh("203.0.113.2") },
      { on: "app2", device: "eth0", host: { ...ssh("203.0.113.2"), netns: "s-app2" } },
    ]);
  });
  test("the lab says it is not applicable there, and why", () => {
    const lab = outputs({ host1: { kind: "netns", netns: "ool-host1" }, host2: { kind: "netns", netns: "ool-host2" } });
    expect(rpsHosts(lab, [])).toEqual([]);
    expect(() => rpsHosts(lab, [{ on: "host2", device: "ul0" }])).toThrow(/^--rps is not applicable on the lab: its hosts are network namespaces of this one machine, sharing its CPUs/);
  });
  test("a name the stack does not have, or a guest behind its console", () => {
    expect(() => rpsHosts(real, [{ on: "host3", device: "eth0" }])).toThrow("--rps host3:eth0: the stack has no host or endpoint named host3 (it has host1, host2, app2, vm1)");
    expect(() => rpsHosts(real, [{ on: "vm1", device: "eth0" }])).toThrow("--rps vm1:eth0: vm1 is a guest reached over its serial console");
  });
});

describe("the report", () => {
  const { receivedBps, report } = parseIperf(fixture("iperf3-ok.json"));
  const cpu = machineCpu(["host1", "host2"], before, after);
  const m: Measurement = {
    stack: "virtio-relay-offload", scenario: "virtio-relay", variant: "offload", lab: true,
    facts: { kernel: "6.1.0", ovsVersion: "ovs-vswitchd (Open vSwitch) 3.1.0" },
    settings: measureSettings.parse({ runs: 1, seconds: 1, parallel: [4], pings: 3 }), from: "vm1", to: "vm2",
    startedAt: "2026-11-30T00:00:00.000Z", finishedAt: "2026-11-30T00:00:10.000Z",
    runs: [{ startedAt: "2026-11-30T00:00:00.000Z", ping: { transmitted: 3, received: 3 }, streams: [{ streams: 1, processes: 1, receivedBps, datapathCpu: {}, machineCpu: [cpu], reports: [report] }] }],
    summary: {
      singleBps: stat([receivedBps]),
      parallelBps: { "4": stat([2 * receivedBps]) },
      pingAvgMs: stat([0.5]),
      datapathCpuPercent: { "relay vm1": stat([97]) },
      cpu: { "1": summarizeCpu([[cpu]]), "4": summarizeCpu([[machineCpu(["host1", "host2"], before, before)]]) },
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

  test("the CPU table: each stack's machines during each stream count, as top shows them, labelled where measured; classic before offload", () => {
    // On the hardware stack a core at 100% system beside the recorded softirq core.
    const sysCore = { ...after, cpus: { ...after.cpus, cpu0: { ...before.cpus.cpu0, system: before.cpus.cpu0.system + 300 } } };
    const rack = { ...onHardware, summary: { ...onHardware.summary, cpu: { "1": summarizeCpu([[machineCpu(["host2"], before, sysCore)]]) } } };
    const older = { ...onLab, stack: "meter-offload-old", summary: { ...onLab.summary, cpu: undefined } };
    const table = cpuTable([m, rack, older, onLab]);
    const lines = table.split("\n");
    expect(lines[0]).toBe("| scenario | variant | stack | measured on | streams | machine: hosts (CPUs) | busiest core, % | all cores, % | most softirq |");
    // The recorded readings: cpu1 at 5 user, 176 system, 100 softirq, 22 idle ticks of 303; all CPUs 17, 288, 121, 182 of 608.
    expect(lines).toContain("| virtio-relay | offload | virtio-relay-offload | lab | 1 | host1, host2 (2 CPUs, one machine) | cpu1: 2 us, 58 sy, 33 si, 7 id | 3 us, 47 sy, 20 si, 30 id | the busiest |");
    expect(lines).toContain("| virtio-relay | offload | virtio-relay-offload | lab | 4 | host1, host2 (2 CPUs, one machine) | cpu0: 0 us, 0 sy, 0 si, 0 id | 0 us, 0 sy, 0 si, 0 id | the busiest |");
    expect(lines).toContain("| meter | offload | meter-offload-rack2 | hardware | 1 | host2 (2 CPUs) | cpu0: 0 us, 100 sy, 0 si, 0 id | 3 us, 47 sy, 20 si, 30 id | cpu1: 33 si |");
    expect(lines).toContain("| meter | offload | meter-offload-old | lab | - | not recorded (measured before per-CPU figures were) | | | |");
    const meter = lines.filter((l) => l.startsWith("| meter |")).map((l) => l.split(" | ").slice(1, 3).join(" "));
    expect(meter).toEqual(["classic -", "offload meter-offload", "offload meter-offload", "offload meter-offload-old", "offload meter-offload-rack2"]);
    for (const scenario of ["internal-vs-netvf", "gateway-forward", "gateway-firewall"]) expect(table).toContain(`| ${scenario} | offload | - | not measured |`);
    expect(table).toContain(LAB_LABEL);
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
