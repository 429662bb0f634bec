// Verify's own logic on recorded output: flow counters as it reads them (a
// dump of the gateway firewall's table: OVS prints tun_id in hex and
// output:in_port as IN_PORT), and the offload check — what it samples on a
// host, while what traffic runs, and what it makes of it on the lab and on
// real hardware (test/fixtures/offload/README.md says where each output is from).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { CommandError, hostLabel, withExecutor, type Executor, type HostSpec } from "../../provider/host.ts";
import {
  countPackets, judgeOffload, noneFailed, offloadExpectations, offloadSampler, sampleOffload, type CheckResult, type OffloadCheck,
} from "../../runner/verify.ts";

const dump = readFileSync(join(import.meta.dirname, "../fixtures/ovs/dump-flows-firewall.txt"), "utf8");
const offload = (name: string) => readFileSync(join(import.meta.dirname, "../fixtures/offload", name), "utf8");

test("packets are summed over the flows holding every item, matched whole", () => {
  expect(countPackets(dump, ["IN_PORT"])).toBe(3 + 64282 + 10368);
  expect(countPackets(dump, ["table=12", "actions=drop"])).toBe(3);
  expect(countPackets(dump, ["table=0", "nw_dst=198.51.100.1"])).toBe(10371);
  // "in_port=1" is an item of its own, not a prefix of in_port=11; table=1 is not table=12.
  expect(countPackets(dump, ["in_port=1", "tun_id=0x3e8"])).toBe(10371 + 64285);
  expect(countPackets(dump, ["table=1"])).toBe(0);
});

const labHost: HostSpec = { kind: "netns", netns: "ool-host1", ovsRundir: "/run/ovs-offload-lab/ool/host1/ovs" };
const realHost: HostSpec = { kind: "ssh", address: "198.51.100.10", user: "root" };
const check = (representors: string[]): OffloadCheck => ({ kind: "offloaded", host: "host1", representors, why: "host1's datapath is in hardware" });

/**
 * Answers each command with what the tool printed for it: dpctl's flows (or,
 * with none given, its answer where no ovs-vswitchd runs) and tc's filters by
 * device (or its refusal of a device that is not there). The refusals were
 * recorded here (OVS 3.1.0, iproute2 6.1.0).
 */
function answering(dpctl: string | undefined, tc: Record<string, string>, calls: string[][] = []): Executor {
  return async (host, argv) => {
    calls.push([...argv]);
    if (argv[0] === "ovs-appctl") {
      if (dpctl !== undefined) return { stdout: dpctl, stderr: "" };
      const stderr =
        '2026-12-03T19:32:59Z|00001|daemon_unix|WARN|/tmp/q4/none/ovs-vswitchd.pid: open: No such file or directory\n' +
        'ovs-appctl: cannot read pidfile "/tmp/q4/none/ovs-vswitchd.pid" (No such file or directory)\n';
      throw new CommandError(hostLabel(host), argv, 1, "", stderr, "exited 1");
    }
    const dev = argv[5];
    if (dev in tc) return { stdout: tc[dev], stderr: "" };
    throw new CommandError(hostLabel(host), argv, 1, "", `Cannot find device "${dev}"\n`, "exited 1");
  };
}

describe("offload checks", () => {
  test("one per host of an offload stack's `offload` output; none for classic; a stack up from before is told to run up", () => {
    expect(offloadExpectations({ variant: "classic" })).toEqual([]);
    expect(offloadExpectations({ variant: "offload", offload: { host1: ["sdn_v0.0", "sdn_v0.1"] } })).toEqual([
      { kind: "offloaded", host: "host1", representors: ["sdn_v0.0", "sdn_v0.1"], why: "host1's datapath flows through sdn_v0.0, sdn_v0.1 are in hardware" },
    ]);
    expect(() => offloadExpectations({ variant: "offload" })).toThrow(/outputs name no representors .*run pulumi up again/);
  });

  test("a sample reads the datapath flows and each representor's filters; a representor that is not there is a finding, not a crash", async () => {
    const calls: string[][] = [];
    const sample = await withExecutor(answering(offload("dpctl-m-lab.txt"), { "sdn_v0.0": offload("tc-ingress-lab.txt") }, calls), () =>
      sampleOffload(labHost, "host1", ["sdn_v0.0", "sdn_v0.9"]),
    );
    expect(calls).toEqual([
      ["ovs-appctl", "dpctl/dump-flows", "-m"],
      ["tc", "-s", "filter", "show", "dev", "sdn_v0.0", "ingress"],
      ["tc", "-s", "filter", "show", "dev", "sdn_v0.9", "ingress"],
    ]);
    expect(sample).toEqual({
      host: "host1",
      datapath: { flows: 6, offloaded: 0, offloadedPackets: 0, partial: 0, tcSoftware: 0 },
      tc: { "sdn_v0.0": { filters: 0, inHw: 0, notInHw: 0, hwPackets: 0 } },
      errors: ['on netns ool-host1: `tc -s filter show dev sdn_v0.9 ingress` exited 1: Cannot find device "sdn_v0.9"'],
    });
  });

  test("on the lab: `offloaded: 0 (lab: no hardware)`, n/a — neither passed nor failed", async () => {
    const sample = await withExecutor(answering(offload("dpctl-m-lab.txt"), { "sdn_v0.0": offload("tc-ingress-lab.txt") }), () => sampleOffload(labHost, "host1", ["sdn_v0.0"]));
    const result = judgeOffload(check(["sdn_v0.0"]), sample, { lab: true, samples: 7, at: labHost });
    expect(result).toEqual({
      status: "n/a",
      seen: "offloaded: 0 (lab: no hardware); 6 datapath flows through sdn_v0.0; tc sdn_v0.0 ingress: no filters; sampled 7 times during the traffic",
    });
    const results: CheckResult[] = [{ expectation: check(["sdn_v0.0"]), ...result }];
    expect(noneFailed(results)).toBe(true);
  });

  test("on real hardware with flows in hardware: passed, with the figures", async () => {
    // The recorded hosts' flows come in by their tunnel port: it stands in for the representor here.
    const sample = await withExecutor(answering(offload("dpctl-m-ovn-173.txt"), { genev_sys_6081: offload("tc-ingress-lnst-341.txt") }), () =>
      sampleOffload(realHost, "host1", ["genev_sys_6081"]),
    );
    expect(judgeOffload(check(["genev_sys_6081"]), sample, { lab: false, samples: 1, at: realHost })).toEqual({
      status: "passed",
      seen:
        "offloaded: 1; 1 datapath flow through genev_sys_6081: 1 in hardware (36 packets); " +
        "tc genev_sys_6081 ingress: 1 filters, 1 in_hw, 0 not_in_hw, 1 packets in hardware; sampled 1 time during the traffic",
    });
  });

  test("on real hardware with nothing in hardware: failed, saying what was sampled where and what to check", async () => {
    const sample = await withExecutor(answering(offload("dpctl-m-lab.txt"), { "sdn_v0.0": offload("tc-ingress-lab.txt") }), () => sampleOffload(realHost, "host1", ["sdn_v0.0"]));
    const { status, seen } = judgeOffload(check(["sdn_v0.0"]), sample, { lab: false, samples: 3, at: realHost });
    expect(status).toBe("failed");
    expect(seen).toMatch(/^offloaded: 0; 6 datapath flows through sdn_v0.0; tc sdn_v0.0 ingress: no filters; sampled 3 times during the traffic; check on ssh root@198.51.100.10:22: /);
    for (const what of ['other_config:hw-offload="true"', "tc-policy", "switchdev", "sdn_v0.0 a representor"]) expect(seen).toContain(what);
    // A host that could not be read fails too, with the tools' own words.
    const unread = await withExecutor(answering(undefined, {}), () => sampleOffload(realHost, "host1", ["sdn_v0.0"]));
    expect(judgeOffload(check(["sdn_v0.0"]), unread, { lab: false, samples: 1, at: realHost })).toMatchObject({
      status: "failed",
      seen: expect.stringMatching(/^offloaded: unknown; on ssh root@198\.51\.100\.10:22: `ovs-appctl dpctl\/dump-flows -m` exited 1: .*cannot read pidfile.*; .*Cannot find device "sdn_v0\.0"/s),
    });
  });

  test("the sampler samples while the traffic runs, stops when it settles, and the traffic's result or error is the check's", async () => {
    const calls: string[][] = [];
    let trafficDone: () => void = () => {};
    const executor = answering(offload("dpctl-m-lab.txt"), { "sdn_v0.0": "" }, calls);
    // The traffic ends once it has been sampled twice.
    const counting: Executor = async (host, argv, options) => {
      const answer = await executor(host, argv, options);
      if (calls.filter((c) => c[0] === "ovs-appctl").length === 2) trafficDone();
      return answer;
    };
    const sampler = offloadSampler([{ ...check(["sdn_v0.0"]), at: labHost }]);
    const result = await withExecutor(counting, () => sampler.during(() => new Promise<string>((resolve) => (trafficDone = () => resolve("moved")))));
    expect(result).toBe("moved");
    expect(sampler.samples()).toBe(2);
    expect(sampler.best.get("host1")?.datapath?.flows).toBe(6);
    const after = calls.length;

    const failing = withExecutor(counting, () => sampler.during(() => Promise.reject(new Error("iperf3: the server is busy"))));
    await expect(failing).rejects.toThrow("iperf3: the server is busy");
    expect(calls.length - after).toBeLessThanOrEqual(2); // at most the one sample begun before the traffic failed
  });
});
