// /proc/stat parsing and top's arithmetic, on two readings recorded around an
// iperf3 stream on this machine (test/fixtures/cpu/README.md).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { busy, machineCpu, parseProcStat, share } from "../../runner/cpu.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "../fixtures/cpu", name), "utf8");
const before = parseProcStat(fixture("proc-stat-before.txt"));
const after = parseProcStat(fixture("proc-stat-after.txt"));

test("the cpu lines: all CPUs and each online one, the first eight columns in ticks", () => {
  expect(Object.keys(before.cpus)).toEqual(["cpu0", "cpu1"]);
  expect(before.all).toEqual({ user: 1767873, nice: 0, system: 1232492, idle: 2046043, iowait: 5873, irq: 0, softirq: 50803, steal: 0 });
  expect(after.cpus.cpu1).toEqual({ user: 912474, nice: 0, system: 633571, idle: 976285, iowait: 4268, irq: 0, softirq: 24416, steal: 0 });
});

test("each state's share of the interval, as top computes it", () => {
  // cpu1 during the stream: 5 user, 176 system, 22 idle, 100 softirq ticks of 303.
  const s = share(before.cpus.cpu1, after.cpus.cpu1);
  expect(s.user).toBeCloseTo((5 / 303) * 100);
  expect(s.system).toBeCloseTo((176 / 303) * 100);
  expect(s.softirq).toBeCloseTo((100 / 303) * 100);
  expect(s.idle).toBeCloseTo((22 / 303) * 100);
  expect(busy(s)).toBeCloseTo((281 / 303) * 100);
  expect(Object.values(s).reduce((a, b) => a + b, 0)).toBeCloseTo(100);
});

test("a counter that went backwards counts as zero (iowait may), and no ticks at all as nothing", () => {
  const s = share({ ...before.cpus.cpu0, iowait: before.cpus.cpu0.iowait + 50 }, after.cpus.cpu0);
  expect(s.iowait).toBe(0);
  expect(s.idle).toBeCloseTo((160 / 306) * 100);
  expect(Object.values(share(before.all, before.all)).every((v) => v === 0)).toBe(true);
});

test("a machine: its busiest core, the core with the most softirq, and all cores as top's %Cpu(s) line", () => {
  const m = machineCpu(["host1", "host2"], before, after);
  expect(m).toMatchObject({ hosts: ["host1", "host2"], cpus: 2, busiest: { cpu: "cpu1" }, mostSoftirq: { cpu: "cpu1" } });
  expect(m.busiest.softirq).toBeCloseTo((100 / 303) * 100);
  // All CPUs: 17 user, 288 system, 182 idle, 121 softirq ticks of 608.
  expect(m.all.system).toBeCloseTo((288 / 608) * 100);
  expect(m.all.softirq).toBeCloseTo((121 / 608) * 100);
});

test("the busiest core and the one with the most softirq, the same core or two", () => {
  // cpu1 as recorded (93% busy, 33% si); cpu0 made 96% softirq, then 100% system.
  const cpu0 = before.cpus.cpu0;
  const siOnly = { ...after, cpus: { ...after.cpus, cpu0: { ...cpu0, softirq: cpu0.softirq + 250, idle: cpu0.idle + 10 } } };
  const m = machineCpu(["gateway"], before, siOnly);
  expect([m.busiest.cpu, m.mostSoftirq.cpu]).toEqual(["cpu0", "cpu0"]);
  const sysOnly = { ...after, cpus: { ...after.cpus, cpu0: { ...cpu0, system: cpu0.system + 300 } } };
  expect(machineCpu(["gateway"], before, sysOnly)).toMatchObject({ busiest: { cpu: "cpu0" }, mostSoftirq: { cpu: "cpu1" } });
});

test("a CPU offline in either reading has no line there and is left out", () => {
  const offline = parseProcStat(fixture("proc-stat-after.txt").replace(/^cpu0 .*\n/m, ""));
  expect(Object.keys(offline.cpus)).toEqual(["cpu1"]);
  expect(machineCpu(["host1"], before, offline).cpus).toBe(1);
  expect(() => machineCpu(["host1"], { ...before, cpus: {} }, offline)).toThrow("no CPU of host1 was online in both readings of /proc/stat");
});

test("what is not /proc/stat is an error that shows it", () => {
  expect(() => parseProcStat("intr 1 2 3\n")).toThrow('no "cpu" line in /proc/stat: intr 1 2 3');
  expect(() => parseProcStat("cpu  1 2 3 4\n")).toThrow("/proc/stat line with 4 columns, not 8 or more: cpu  1 2 3 4");
});
