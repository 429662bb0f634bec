// The SSH transport against a real sshd in a lab host's namespace: exact argv
// through the one quoting function, host key verification, a shared
// connection, host keys on port 22 and others, a timeout that reaches the
// remote command, the provider through the real engine — and a host becoming
// unreachable in the middle of a stack that spans two: SSH refused, host key
// changed, server frozen, a lab host's namespace gone.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { exec, hostLabel, timed, waitFor, type HostSpec } from "../../provider/host.ts";
import { ovsDaemonPid } from "../../lab/ovs.ts";
import { dumpFlowsArgv } from "../../provider/ovs/ofctl.ts";
import { isRunning, procStat } from "../../provider/proc.ts";
import { hostSnapshot, testLabName } from "../support/machine.ts";
import { hostileArgv } from "../support/hostile.ts";
import { startSshd, type TestSshd } from "../support/sshd.ts";
import { testStack, type TestStack } from "../support/stack.ts";

const lab = labLayout(testLabName(), 1);
const [host1, host2] = lab.hosts; // host2 is reached over SSH, host1 as a namespace of this machine
let sshd: TestSshd;
beforeAll(async () => {
  await labUp(lab, () => {});
  sshd = await startSshd(host2);
});
afterAll(async () => {
  await sshd?.stop();
  await labDown(lab, () => {});
});

const flows = async (host: HostSpec, bridge: string) =>
  (await exec(host, dumpFlowsArgv(bridge))).stdout.split("\n").filter((l) => l.includes("actions=")).map((l) => l.trim());

describe("SSH transport", () => {
  test("the remote side receives exactly the argv, for 50 generated hostile ones", async () => {
    const gen = hostileArgv(20261125);
    const cases = 50;
    const [, seconds] = await timed(async () => {
      for (let i = 0; i < cases; i++) {
        const argv = gen();
        const { stdout } = await exec(sshd.spec(), ["printf", "%s\\0", ...argv]);
        expect(stdout.split("\0").slice(0, -1), `case ${i}: ${JSON.stringify(argv)}`).toEqual(argv);
      }
    });
    console.log(`ssh: ${cases} commands over one shared connection, ${((seconds * 1000) / cases).toFixed(1)} ms per command (the remote user's shell start-up included)`);
  });

  test("the remote shell is the lab host's: its namespace, its Open vSwitch", async () => {
    const { stdout } = await exec(sshd.spec(), ["ovs-vsctl", "list-br"]);
    expect(stdout.trim()).toBe("br-phy");
    expect((await exec(sshd.spec(), ["ip", "-br", "addr", "show", "mgmt0"])).stdout).toContain(sshd.address);
  });

  // ssh looks a host on port 22 up in known_hosts by its bare address, on another port as [address]:port.
  const ports = [{ which: "22", port: () => 22 }, { which: "another", port: () => sshd.port }];

  test.each(ports)("hostKey verifies the server on port $which", async ({ port }) => {
    expect((await exec(sshd.spec({ port: port() }), ["echo", "in"])).stdout).toBe("in\n");
  });

  test.each(ports)("a server on port $which whose host key is not the expected one is refused", async ({ port }) => {
    await expect(exec(sshd.spec({ port: port(), hostKey: sshd.otherHostKey }), ["true"])).rejects.toThrow(/ssh root@203\.0\.113\.\d+:\d+: .* exited 255: .*Host key verification failed/s);
  });

  test("a command that runs too long fails naming the host, and is gone on the host too", async () => {
    const pidfile = join(sshd.dir, "remote-sleep.pid");
    // The budget leaves room for the remote user's shell start-up (a second or two here); the
    // sleep outlasts the test, so a call that waited for it would never settle.
    const call = exec(sshd.spec(), ["sh", "-c", 'echo $$ > "$1"; exec sleep 600', "sh", pidfile], { timeoutMs: 8000 }).catch((e: unknown) => e);
    // The remote sleep is a process of this machine, in the lab host's namespace.
    const pid = async () => Number(await readFile(pidfile, "utf8").catch(() => "0"));
    expect(await waitFor(async () => (await pid()) > 0, 8000), "the remote command started").toBe(true);
    const err = await call;
    expect((err as Error).message).toMatch(/^on ssh root@203\.0\.113\.\d+:\d+: `sh -c .*` timed out after 8000 ms$/);
    const remote = await pid();
    try {
      expect(await waitFor(async () => (procStat(remote)?.state ?? "Z") === "Z", 10_000), "the remote sleep is gone").toBe(true);
    } finally {
      if (isRunning(remote, "sleep")) process.kill(remote, "SIGKILL");
    }
  });

  test("output larger than a pipe's buffer comes back whole, through ip netns exec and over SSH", async () => {
    for (const host of [host1.spec, sshd.spec()]) expect((await exec(host, ["head", "-c", "3000000", "/dev/zero"])).stdout).toHaveLength(3_000_000);
  });

  test("a refused connection is an error naming the host, not a hang", async () => {
    await expect(exec(sshd.spec({ port: 1 }), ["true"])).rejects.toThrow(/on ssh root@203\.0\.113\.\d+:1: .* exited 255: .*Connection refused/s);
  });

  test("a bridge and a flow on a lab host reached over SSH, through the engine", async () => {
    const host = sshd.spec();
    const s = await testStack("resources");
    try {
      const spec = [
        { kind: "Bridge", name: "br", args: { host, name: "br-ssh", datapathType: "netdev" } },
        { kind: "Flow", name: "f", dependsOn: ["br"], args: { host, bridge: "br-ssh", match: "in_port=1", actions: "drop" } },
      ];
      expect((await s.up(spec)).summary.resourceChanges).toEqual({ create: 4 });
      expect((await flows(host2.spec, "br-ssh"))[0]).toMatch(/in_port=1 actions=drop/);
      expect((await s.up(spec)).summary.resourceChanges).toEqual({ same: 4 });
      await s.destroy();
      expect((await exec(host2.spec, ["ovs-vsctl", "list-br"])).stdout.trim()).toBe("br-phy");
    } finally {
      await s.dispose();
    }
  });
});

describe("a host unreachable in the middle of a stack", () => {
  // One stack over three hosts — host1 and the gateway as namespaces of this machine, host2 over SSH —
  // a bridge and a flow on each. Each case breaks one host, then changes every flow.
  const gateway = lab.hosts[2];
  const hosts = (): [string, HostSpec][] => [["h1", host1.spec], ["h2", sshd.spec()], ["h3", gateway.spec]];
  const spec = (actions: string) =>
    hosts().flatMap(([name, host]) => [
      { kind: "Bridge", name: `${name}-br`, args: { host, name: "br-u", datapathType: "netdev", failMode: "secure" } },
      { kind: "Flow", name: `${name}-f`, dependsOn: [`${name}-br`], args: { host, bridge: "br-u", match: "in_port=1", actions } },
    ]);
  const seenOn = async (h: HostSpec) => (await flows(h, "br-u")).map((l) => l.replace(/^cookie=\S+ /, ""));
  /** Gives the gateway's namespace its name back: OVS still runs in it. */
  const reattach = async () => {
    if ((await exec({ kind: "local" }, ["ip", "netns", "list"])).stdout.includes(gateway.netns)) return;
    await exec({ kind: "local" }, ["ip", "netns", "attach", gateway.netns, String(await ovsDaemonPid(gateway, "ovs-vswitchd"))]);
  };
  let s: TestStack;
  let before: unknown;
  let actions = "drop";
  const snapshot = () => Promise.all(hosts().map(([, h]) => hostSnapshot(h)));
  beforeAll(async () => {
    before = await snapshot();
    s = await testStack("resources");
    await s.up(spec(actions));
  });
  afterAll(() => s?.dispose());

  test.each([
    { how: "sshd stopped: connections refused", victim: "h2", breakIt: () => sshd.refuse(), fixIt: () => sshd.serve(), says: /Connection refused/ },
    { how: "the host key changed", victim: "h2", breakIt: async () => (await sshd.refuse(), await sshd.serve("other")), fixIt: async () => (await sshd.refuse(), await sshd.serve("host")), says: /Host key verification failed/ },
    { how: "sshd frozen: connections accepted, never answered", victim: "h2", breakIt: () => sshd.freeze(true), fixIt: () => sshd.freeze(false), says: /timed out|Timeout|Broken pipe|Connection closed/i },
    { how: "a lab host's namespace gone", victim: "h3", breakIt: () => exec({ kind: "local" }, ["ip", "netns", "del", gateway.netns]), fixIt: reattach, says: /Cannot open network namespace/ },
  ])("$how: up fails naming the host; no host half-changed; state and hosts agree; up converges", async ({ victim, breakIt, fixIt, says }) => {
    const [old, next] = [actions, actions === "drop" ? "NORMAL" : "drop"];
    const victimSpec = new Map(hosts()).get(victim)!;
    await breakIt();
    try {
      const [failure, seconds] = await timed(() => s.up(spec(next)).then(() => undefined, (e: Error) => e));
      console.log(`unreachable host (${says.source}): the up failed after ${seconds.toFixed(1)} s`);
      expect(failure?.message).toContain(`on ${hostLabel(victimSpec)}:`);
      expect(failure?.message).toMatch(says);
      // The engine stops starting new changes once one fails: each other host has its old flow or its new one, never a mix.
      for (const [name, h] of hosts()) if (name !== victim) expect([[`in_port=1 actions=${old}`], [`in_port=1 actions=${next}`]], name).toContainEqual(await seenOn(h));
    } finally {
      await fixIt();
    }
    expect(await seenOn(victimSpec)).toEqual([`in_port=1 actions=${old}`]);
    const behind = (await Promise.all(hosts().map(async ([, h]) => (await seenOn(h))[0] === `in_port=1 actions=${old}`))).filter(Boolean).length;
    // State and hosts agree everywhere: refresh changes nothing; up changes just the flows still behind.
    expect(Object.keys((await s.refresh()).summary.resourceChanges ?? {})).toEqual(["same"]);
    expect((await s.up(spec(next))).summary.resourceChanges).toEqual({ same: 8 - behind, update: behind }); // the stack, its instance, 3 bridges and 3 flows
    for (const [, h] of hosts()) expect(await seenOn(h)).toEqual([`in_port=1 actions=${next}`]);
    console.log(`  ${behind} of 3 hosts' flows were still to change after the failed up; one up changed exactly those`);
    actions = next;
  });

  test("destroy leaves the three hosts as before", async () => {
    await s.destroy();
    expect(await snapshot()).toEqual(before);
  });
});
