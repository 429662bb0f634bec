// The SSH transport against a real sshd in a lab host's namespace: exact argv
// through the one quoting function, host key verification, a shared
// connection, host keys on port 22 and others, a timeout that reaches the
// remote command, a user who is not root running commands through sudo -n
// (become) and one whom sudo refuses, the provider through the real engine —
// a host becoming unreachable in the middle of a stack that spans two: SSH
// refused, host key changed, server frozen, a lab host's namespace gone — and
// a scenario stack on two SSH hosts through the CLI.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { CommandError, exec, hostLabel, shellQuote, timed, waitFor, type HostSpec } from "../../provider/host.ts";
import { ovsDaemonPid } from "../../lab/ovs.ts";
import { dumpFlowsArgv } from "../../provider/ovs/ofctl.ts";
import { isRunning, procStat } from "../../provider/proc.ts";
import { hostSnapshot, testLabName } from "../support/machine.ts";
import { hostileArgv } from "../support/hostile.ts";
import { projectCopy, type ProjectCopy } from "../support/project.ts";
import { startSshd, type TestSshd } from "../support/sshd.ts";
import { testStack, type TestStack } from "../support/stack.ts";
import { REPO } from "../../runner/stacks.ts";

const lab = labLayout(testLabName(), 1);
const [host1, host2] = lab.hosts; // host2 is reached over SSH, host1 as a namespace of this machine
let sshd: TestSshd;
/** Users of this machine, not root: one whom sudo lets run anything as root without a password, one it does not. */
let sudoer: string;
let plain: string;
beforeAll(async () => {
  await labUp(lab, () => {});
  sshd = await startSshd(host2);
  sudoer = await sshd.addUser({ sudo: true });
  plain = await sshd.addUser({ sudo: false });
});
afterAll(async () => {
  await sshd?.stop();
  await labDown(lab, () => {});
});

const run = promisify(execFile);
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

  // Through sudo the remote sleep is root's: the timeout that ends it must be root's too.
  test.each([
    { who: "root", spec: () => sshd.spec() },
    { who: "a sudo user", spec: () => sshd.spec({ user: sudoer, become: "sudo" }) },
  ])("a command that runs too long fails naming the host, and is gone on the host too: $who", async ({ spec }) => {
    const host = spec();
    const pidfile = join(sshd.dir, `remote-sleep-${randomBytes(4).toString("hex")}.pid`);
    // The budget leaves room for the remote user's shell start-up (a second or two here); the
    // sleep outlasts the test, so a call that waited for it would never settle.
    const argv = ["sh", "-c", 'echo $$ > "$1"; exec sleep 600', "sh", pidfile];
    const call = exec(host, argv, { timeoutMs: 8000 }).catch((e: unknown) => e);
    // The remote sleep is a process of this machine, in the lab host's namespace.
    const pid = async () => Number(await readFile(pidfile, "utf8").catch(() => "0"));
    expect(await waitFor(async () => (await pid()) > 0, 8000), "the remote command started").toBe(true);
    const err = await call;
    expect((err as Error).message).toBe(`on ${hostLabel(host)}: \`${shellQuote(argv)}\` timed out after 8000 ms`);
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

describe("a user who is not root, with become: sudo", () => {
  test("each command runs as root through sudo -n: the argv exactly, stdin, the lab host's Open vSwitch", async () => {
    expect((await exec(sshd.spec({ user: sudoer }), ["id", "-un"])).stdout).toBe(`${sudoer}\n`);
    const host = sshd.spec({ user: sudoer, become: "sudo" });
    // Nothing of sudo's own on stderr: a lecture or a warning would end up in every error message.
    expect(await exec(host, ["id", "-un"])).toEqual({ stdout: "root\n", stderr: "" });
    const gen = hostileArgv(20261203);
    for (let i = 0; i < 20; i++) {
      const argv = gen();
      const { stdout } = await exec(host, ["printf", "%s\\0", ...argv]);
      expect(stdout.split("\0").slice(0, -1), `case ${i}: ${JSON.stringify(argv)}`).toEqual(argv);
    }
    // ovs-ofctl --bundle reads its flows there.
    expect((await exec(host, ["cat"], { stdin: "in_port=1 actions=drop\n" })).stdout).toBe("in_port=1 actions=drop\n");
    // OVS_RUNDIR is set by env under sudo, after sudo has reset the environment.
    expect((await exec(host, ["ovs-vsctl", "list-br"])).stdout.trim()).toBe("br-phy");
  });

  test("one whom sudo does not let is refused at once, with sudo's own words and what to do", async () => {
    const host = sshd.spec({ user: plain, become: "sudo" });
    const err = await exec(host, ["ovs-vsctl", "list-br"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ kind: "denied", exitCode: 1, stderr: "sudo: a password is required\n" });
    const [what, todo] = (err as Error).message.split("\n");
    expect(what).toBe(`on ${hostLabel(host)}: \`ovs-vsctl list-br\` exited 1: sudo: a password is required`);
    expect(todo).toMatch(/sudo -n, which never asks for a password: on that host, give the SSH user a sudoers rule with NOPASSWD/);
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

describe("a scenario stack on SSH hosts, through the CLI", () => {
  // internal-vs-netvf classic on the lab's host1 as root on port 22 and host2 as the sudo user on
  // its sshd's own port: each host's commands over SSH, as on real hosts (no lab in the config).
  // `netns` names the lab host's namespace, where the host's links live: on a real host that is
  // PID 1's, where a link moved out of an application namespace goes back to.
  const name = "ssh-rack";
  let sshd1: TestSshd;
  let project: ProjectCopy;
  // Not the lab's passphrase: a stack on real hosts refuses that one.
  const env: NodeJS.ProcessEnv = { ...process.env, PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex"), PULUMI_CONFIG_PASSPHRASE_FILE: undefined };
  /** `npm run scenario -- ARGS --stack ssh-rack` on the copy: its exit code and output; how long it took goes to the log. */
  const scenario = async (...args: string[]) => {
    const [result, seconds] = await timed(() =>
      run(process.execPath, [join(project.dir, "runner/cli.ts"), ...args, "--stack", name, "--project", project.dir], { env }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      ),
    );
    console.log(`${name}: ${args[0]} over SSH took ${seconds.toFixed(1)} s`);
    return result;
  };
  const snapshot = () => Promise.all([host1, host2].map((h) => hostSnapshot(h.spec)));

  beforeAll(async () => {
    sshd1 = await startSshd(host1);
    project = await projectCopy();
    // The runner in the copy too, so that the measurement goes to the copy's reports/, not the checkout's.
    await cp(join(REPO, "runner"), join(project.dir, "runner"), { recursive: true });
    const site = (h: typeof host1, host: HostSpec) => ({ host, underlayIp: h.underlayIp, datapathType: "netdev", sysfsRoot: h.sysfs });
    const hosts = {
      host1: site(host1, sshd1.spec({ port: 22, netns: host1.netns })),
      host2: site(host2, sshd.spec({ user: sudoer, become: "sudo", netns: host2.netns })),
    };
    await writeFile(
      join(project.dir, "stacks", `Pulumi.${name}.yaml`),
      `config:\n  ovs-offload-lab:scenario: internal-vs-netvf\n  ovs-offload-lab:variant: classic\n  ovs-offload-lab:hosts: ${JSON.stringify(hosts)}\n`,
    );
  });
  afterAll(async () => {
    await project?.remove();
    await sshd1?.stop();
  });

  test("up, verify, measure and destroy: the hosts as before", async () => {
    const before = await snapshot();
    let destroyed: Awaited<ReturnType<typeof scenario>>;
    try {
      const up = await scenario("up");
      expect(up.code, up.stderr).toBe(0);
      const { stdout } = await run("pulumi", ["stack", "output", "hosts", "--json", "--stack", name], { cwd: project.dir, env });
      expect(Object.values(JSON.parse(stdout) as Record<string, HostSpec>).map(hostLabel)).toEqual([
        `ssh root@${sshd1.address}:22 netns ${host1.netns}`,
        `ssh ${sudoer}@${sshd.address}:${sshd.port} netns ${host2.netns} with sudo`,
      ]);
      const verified = await scenario("verify");
      console.log(verified.stdout);
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
      const measured = await scenario("measure", "--runs", "1", "--seconds", "1", "--parallel", "2");
      console.log(measured.stdout.split("\n").filter((l) => l.startsWith("  ")).join("\n"));
      expect(measured.code, measured.stdout + measured.stderr).toBe(0);
      expect((await readdir(join(project.dir, "reports"))).filter((f) => f.startsWith(`${name}-`) && f.endsWith(".json"))).toHaveLength(1);
    } finally {
      destroyed = await scenario("destroy");
    }
    expect(destroyed.code, destroyed.stderr).toBe(0);
    expect(await snapshot()).toEqual(before);
  });
});
