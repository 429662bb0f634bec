// Measuring a stack that is up, end to end on a lab: valid JSON with each
// machine's CPUs from /proc/stat during every stream and N iperf3 processes
// for N streams, a report whose figures are that JSON's, a chart holding its
// series; and RPS written to a lab host's real sysfs and put back as it was.
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { exec, waitFor } from "../../provider/host.ts";
import { measureSettings, type Measurement } from "../../runner/measure.ts";
import { LAB_LABEL, writeReport } from "../../runner/report.ts";
import { cpuMask, withRps } from "../../runner/rps.ts";
import { measureStack, operate, scenarioOutputs } from "../../runner/stacks.ts";
import { runOn } from "../../runner/traffic.ts";
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
    await operate(stack, "up");
    const settings = measureSettings.parse({ runs: 2, seconds: 1, parallel: [2], pings: 3 });
    const [m, file] = await measureStack(stack, reports, settings, (l) => console.log(l));
    const saved = JSON.parse(await readFile(file, "utf8")) as Measurement;
    expect(saved).toEqual(m);
    expect(saved).toMatchObject({ stack: "internal-vs-netvf-offload", scenario: "internal-vs-netvf", variant: "offload", lab: true, settings, from: "app1", to: "app2" });
    expect(saved.facts.ovsVersion).toMatch(/Open vSwitch/);
    expect(saved.runs).toHaveLength(2);
    expect(saved.runs[0].streams.map((s) => s.streams)).toEqual([1, 2]);
    expect(saved.summary.singleBps.median).toBeGreaterThan(0);
    expect(Object.keys(saved.summary.datapathCpuPercent).sort()).toEqual(["ovs-vswitchd host1", "ovs-vswitchd host2"]);

    // This machine's iperf3 (Debian's 3.12) runs -P streams in one thread: 2 streams are 2 processes, one connection each, to ports of their own.
    expect(saved.multiStream).toMatchObject({ method: "processes", iperf3: { from: "3.12", to: "3.12" } });
    for (const run of saved.runs) {
      expect(run.streams.map((s) => [s.streams, s.processes, s.reports.length])).toEqual([[1, 1, 1], [2, 2, 2]]);
      const ports = run.streams[1].reports.map((r) => (r as { start: { connected: { remote_port: number }[] } }).start.connected.map((c) => c.remote_port));
      expect(ports).toEqual([[5201], [5202]]);
    }

    // The lab's hosts are namespaces of this machine: one machine, named by this machine's boot id, both hosts on it.
    const cpus = (readFileSync("/proc/stat", "utf8").match(/^cpu\d+ /gm) ?? []).length;
    const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    expect(saved.facts.machines).toEqual([{ hosts: ["host1", "host2"], cpus, bootId }]);
    for (const s of saved.runs.flatMap((r) => r.streams)) {
      expect(s.machineCpu.map((c) => [c.hosts, c.cpus])).toEqual([[["host1", "host2"], cpus]]);
      const [c] = s.machineCpu;
      expect(c.busiest.cpu).toMatch(/^cpu\d+$/);
      // Two iperf3 ends and two userspace datapaths on this machine's CPUs: some of them were busy.
      expect(100 - c.busiest.idle - c.busiest.iowait).toBeGreaterThan(0);
      expect(Object.values(c.all).reduce((a, b) => a + b, 0)).toBeCloseTo(100);
    }
    expect(Object.keys(saved.summary.cpu!)).toEqual(["1", "2"]);

    // The servers are gone: nothing listens on their ports in the receiver's namespace.
    const app2 = (await scenarioOutputs(stack)).endpoints.app2;
    const quiet = async () => !/:(1451|1452) [0-9A-F:]+ 0A /.test((await runOn(app2, ["cat", "/proc/net/tcp"])).stdout); // 5201, 5202 LISTEN
    expect(await waitFor(quiet, 5000)).toBe(true);
    console.log(`measured: ${JSON.stringify(saved.summary)}`);

    const table = await writeReport(reports);
    expect(table).toContain(`| internal-vs-netvf | offload | internal-vs-netvf-offload | lab | ${(saved.summary.singleBps.median / 1e9).toFixed(3)} (`);
    const busiest = saved.summary.cpu!["1"][0].busiest;
    expect(table).toContain(`| internal-vs-netvf | offload | internal-vs-netvf-offload | lab | 1 | host1, host2 (${cpus} CPUs, one machine) | ${[...new Set(busiest.cores)].sort().join(", ")}: ${busiest.share.user.median.toFixed(0)} us, `);
    expect(table).toContain("| internal-vs-netvf | offload | internal-vs-netvf-offload | lab | 2 | host1, host2 (");
    expect(await readdir(reports)).toEqual(expect.arrayContaining(["report.md", "internal-vs-netvf.svg"]));
    const svg = await readFile(join(reports, "internal-vs-netvf.svg"), "utf8");
    expect(svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
    for (const label of [LAB_LABEL, "1 stream", "2 streams", "offload"]) expect(svg).toContain(label);
  } finally {
    await operate(stack, "destroy");
  }
});

test("RPS on a device's receive queues, put back exactly as it was, also when the measurement fails", async () => {
  const host = lab.hosts[0];
  const file = `/sys/class/net/${host.underlayLink}/queues/rx-0/rps_cpus`;
  const read = async () => (await exec(host.spec, ["cat", file])).stdout.trim();
  const before = await read();
  const all = cpuMask(readFileSync("/sys/devices/system/cpu/online", "utf8"));
  const target = { on: host.name, device: host.underlayLink, host: host.spec };

  const [during, applied] = await withRps([target], read);
  expect(parseInt(during, 16)).toBe(parseInt(all, 16));
  expect(applied).toEqual([{ on: host.name, device: host.underlayLink, queues: { "rx-0": { before, during } } }]);
  expect(await read()).toBe(before);

  await expect(withRps([target], () => Promise.reject(new Error("iperf3 failed")))).rejects.toThrow("iperf3 failed");
  expect(await read()).toBe(before);
  await expect(withRps([{ ...target, device: "nosuchdev0" }], read)).rejects.toThrow(`--rps ${host.name}:nosuchdev0: ${host.name} has no network device nosuchdev0`);
});
