// restart-ovs without a host: how ovs-vswitchd is restarted, chosen from what
// systemctl and test answered (test/fixtures/systemd/recorded.json: recorded
// on Debian 12 where it could be, the rest from the sources named there), the
// lab's hosts told from others, and the command's refusals, which come before
// any host is restarted. The restart itself is tested on a lab
// (test/provider/ovs-config.lab.test.ts).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { automation } from "@pulumi/pulumi";
import { describe, expect, test } from "vitest";
import { labLayout } from "../../lab/layout.ts";
import type { HostSpec } from "../../provider/host.ts";
import { chooseRestart, labHostOf, OVS_CTL, OVS_UNITS, restartFacts, restartOvs, type RestartFacts } from "../../runner/restart.ts";
import { RecordingHost, type Recorded } from "../support/recording-host.ts";

interface Answer extends Recorded {
  what: string;
}
const answers = (JSON.parse(readFileSync(join(import.meta.dirname, "../fixtures/systemd/recorded.json"), "utf8")) as { outputs: Answer[] }).outputs;
const answer = (what: RegExp): Recorded => {
  const found = answers.find((a) => what.test(a.what));
  if (!found) throw new Error(`no answer ${what} in the fixture`);
  return found;
};
const isRunning = {
  offline: answer(/not PID 1/),
  running: answer(/all units fine/),
  degraded: answer(/a failed unit/),
  absent: answer(/systemctl not installed/),
};
const listUnits = ["systemctl", "list-unit-files", "--no-legend", "--no-pager", ...OVS_UNITS];
const units = {
  debian: answer(/^list-unit-files, Debian/),
  rhel: answer(/^list-unit-files, RHEL/),
  // Recorded for another unit name: the answer (nothing listed, exit 1) is what matters.
  none: { ...answer(/listing none/), argv: listUnits },
};
const testX = (path: string, there: boolean): Recorded => ({ ...answer(there ? /Debian's ovs-ctl/ : /no ovs-ctl/), argv: ["test", "-x", path] });

const ssh: HostSpec = { kind: "ssh", address: "192.0.2.10", user: "root" };

describe("the restart command, chosen from the host's answers", () => {
  test.each<[string, Recorded[], string[] | RegExp]>([
    ["this machine: systemd installed, not PID 1; Debian's ovs-ctl", [isRunning.offline, testX(OVS_CTL[0], true)], [OVS_CTL[0], "--no-ovsdb-server", "restart"]],
    ["Debian or Ubuntu, booted with systemd", [isRunning.running, units.debian], ["systemctl", "restart", "openvswitch-switch"]],
    ["RHEL, a unit failed somewhere (degraded is still systemd)", [isRunning.degraded, units.rhel], ["systemctl", "restart", "openvswitch"]],
    ["no systemctl at all; ovs-ctl from a source build", [isRunning.absent, testX(OVS_CTL[0], false), testX(OVS_CTL[1], true)], [OVS_CTL[1], "--no-ovsdb-server", "restart"]],
    ["systemd without Open vSwitch's unit, and no ovs-ctl", [isRunning.running, units.none, testX(OVS_CTL[0], false), testX(OVS_CTL[1], false)], /^systemd running without openvswitch-switch.service or openvswitch.service, and no ovs-ctl at /],
  ])("%s", async (_, script, expected) => {
    const facts = await new RecordingHost(script).run(() => restartFacts(ssh));
    const choice = chooseRestart(facts);
    if (expected instanceof RegExp) expect(choice).toEqual({ refused: expect.stringMatching(expected) });
    else expect(choice).toMatchObject({ argv: expected });
  });

  test("a unit there does not count where systemd is not PID 1: ovs-ctl, or nothing", () => {
    const facts: RestartFacts = { systemd: "offline", units: ["openvswitch-switch.service"] };
    expect(chooseRestart(facts)).toEqual({ refused: `systemd offline, and no ovs-ctl at ${OVS_CTL.join(" or ")}` });
    expect(chooseRestart({ ...facts, ovsCtl: OVS_CTL[0] })).toEqual({ argv: [OVS_CTL[0], "--no-ovsdb-server", "restart"], why: "systemd offline; ovs-ctl there" });
  });
});

describe("lab hosts", () => {
  const lab = labLayout("rst1");
  test.each<[string, HostSpec, string | undefined]>([
    ["a lab host's spec", lab.hosts[1].spec, "host2"],
    ["a namespace served by the system's Open vSwitch", { kind: "netns", netns: "rst1-host2" }, undefined],
    ["another run directory", { kind: "netns", netns: "rst1-host2", ovsRundir: "/run/elsewhere" }, undefined],
    ["a namespace no lab names", { kind: "netns", netns: "Not-a-lab", ovsRundir: "/run/x" }, undefined],
    ["a real host", ssh, undefined],
  ])("%s", (_, spec, host) => {
    expect(labHostOf(spec)?.name).toBe(host);
  });
});

describe("restartOvs, before any restart", () => {
  const OVS_CONFIG = "pulumi-nodejs:dynamic/ovs-offload-lab:OvsConfig";
  /** The parts of a stack restartOvs reads; up is counted and must not run here. */
  function stackWith(resources: { type: string; outputs: Record<string, unknown> }[], hosts?: Record<string, HostSpec>) {
    const ups: unknown[] = [];
    const stack = {
      name: "meter-offload-rack2",
      outputs: async () => (hosts ? { hosts: { value: hosts, secret: false } } : {}),
      exportStack: async () => ({ version: 3, deployment: { resources: resources.map((r, i) => ({ urn: `urn:pulumi:rack2::p::${r.type}::r${i}`, ...r })) } }),
      up: async (o: unknown) => ups.push(o),
    };
    return { stack: stack as unknown as automation.Stack, ups };
  }

  test("nothing waiting and no --host: says so, restarts nothing, runs no up", async () => {
    const { stack, ups } = stackWith([{ type: OVS_CONFIG, outputs: { host: ssh, otherConfig: { "max-idle": "30000" }, restartNeeded: [] } }], { host1: ssh });
    const said: string[] = [];
    expect(await restartOvs(stack, {}, (l) => said.push(l))).toEqual({ restarted: [] });
    expect(said).toEqual([expect.stringMatching(/^meter-offload-rack2: no OvsConfig of the stack has keys waiting for an ovs-vswitchd restart/)]);
    expect(ups).toEqual([]);
  });

  test("--host names a role the stack does not have: refused, naming its hosts", async () => {
    const { stack } = stackWith([], { host1: ssh, host2: { ...ssh, address: "192.0.2.11" } });
    await expect(restartOvs(stack, { role: "gateway" }, () => {})).rejects.toThrow("--host gateway: stack meter-offload-rack2 has no such host (its hosts: host1, host2)");
  });

  test("a host with no way to restart: refused with what to do by hand, before any host is restarted", async () => {
    const other: HostSpec = { ...ssh, address: "192.0.2.11" };
    const { stack, ups } = stackWith(
      [
        { type: OVS_CONFIG, outputs: { host: ssh, restartNeeded: ["tc-policy"] } },
        { type: OVS_CONFIG, outputs: { host: other, restartNeeded: ["dpdk-init"] } },
      ],
      { host1: ssh, host2: other },
    );
    // host1 could be restarted (systemd, Debian's unit); host2 has neither: nothing runs on host1 either.
    const host = new RecordingHost([isRunning.running, units.debian, isRunning.absent, testX(OVS_CTL[0], false), testX(OVS_CTL[1], false)]);
    await expect(host.run(() => restartOvs(stack, {}, () => {}))).rejects.toThrow(
      /^host2 \(ssh root@192\.0\.2\.11:22\): found no way to restart ovs-vswitchd there \(no systemctl, and no ovs-ctl at .*\)\. Restart it by hand .* then run `pulumi up --refresh`/,
    );
    expect(ups).toEqual([]);
  });
});
