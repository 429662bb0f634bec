import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { CommandError, commandFor, exec, hostLabel, type HostSpec, shellQuote, sshOptions, waitFor, withExecutor } from "../../provider/host.ts";
import { isRunning, procStat } from "../../provider/proc.ts";
import { hostSpec } from "../../provider/schema.ts";

const local = { kind: "local" } as const;
const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx7Zz9t5GqXkq1kKJ5m0m0rP3hX1F2Lw0cB2d9yQ0Yv";
/** A spec of its own per call (198.51.100.0/24, RFC 5737; nothing connects to it), so its files are this test's. */
const sshHost = (extra: Partial<Extract<HostSpec, { kind: "ssh" }>> = {}): Extract<HostSpec, { kind: "ssh" }> => ({
  kind: "ssh", address: `198.51.100.${1 + Math.floor(Math.random() * 254)}`, port: 20000 + Math.floor(Math.random() * 20000), user: "root", ...extra,
});
/** The value of ssh's `-o name=value` in an argv. */
const sshOption = (argv: readonly string[], name: string) => argv.find((a) => a.startsWith(`${name}=`))!.slice(name.length + 1);
/** Exited, or exited and not yet reaped. */
const gone = async (pid: number) => (procStat(pid)?.state ?? "Z") === "Z";

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), "ool-host-test-"));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

describe("shellQuote", () => {
  test.each([
    [["ovs-vsctl", "add-br", "br0"], "ovs-vsctl add-br br0"],
    [["echo", ""], "echo ''"],
    [["echo", "it's"], `echo 'it'\\''s'`],
    [["echo", "a b;rm -rf /"], "echo 'a b;rm -rf /'"],
  ])("%j -> %s", (argv, line) => expect(shellQuote(argv)).toBe(line));

  test("a shell reading the line gets back exactly the argv", async () => {
    const argv = ["$HOME", "`id`", "a\nb", "'\"", "*", "--help", "x;y|z&", "\\", "é ü"];
    const { stdout } = await exec(local, ["sh", "-c", `printf '%s\\0' ${shellQuote(argv)}`]);
    expect(stdout.split("\0").slice(0, -1)).toEqual(argv);
  });
});

describe("exec", () => {
  test("runs in a namespace through ip netns exec, with the OVS run directory", () => {
    expect(commandFor({ kind: "netns", netns: "lab-host1", ovsRundir: "/run/x" }, ["ovs-vsctl", "show"])).toEqual({
      argv: ["ip", "netns", "exec", "lab-host1", "ovs-vsctl", "show"],
      env: { OVS_RUNDIR: "/run/x" },
    });
  });

  test("feeds stdin and returns stdout", async () => {
    expect((await exec(local, ["cat"], { stdin: "flows\n" })).stdout).toBe("flows\n");
  });

  test("a failure carries host, argv, exit code and stderr", async () => {
    const err = await exec(local, ["sh", "-c", "echo nope >&2; exit 3"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ host: "localhost", exitCode: 3, stderr: "nope\n", kind: "failed" });
    expect((err as Error).message).toBe("on localhost: `sh -c 'echo nope >&2; exit 3'` exited 3: nope");
  });

  test("a command that runs too long is killed and says so", async () => {
    const err = await exec(local, ["sleep", "5"], { timeoutMs: 100 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/timed out after 100 ms/);
  });

  test("a missing program is an error, not a hang", async () => {
    const err = await exec(local, ["no-such-program-here"]).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/could not start/);
  });

  // The background sleep holds the output pipes far longer than the test may run: a call that waited for it would never settle.
  test.each([
    ["a timeout ends the call at the deadline", 500, /^on localhost: `sh -c .*` timed out after 500 ms$/],
    ["a command that exits resolves with what it printed, without waiting", undefined, undefined],
  ])("%s, and what the command left holding its output is killed", async (_, timeoutMs, error) => {
    const pidfile = join(scratch, "background.pid");
    const call = exec(local, ["sh", "-c", 'sleep 600 & echo $! > "$1"; echo printed', "sh", pidfile], { timeoutMs });
    if (error) await expect(call).rejects.toThrow(error);
    else expect((await call).stdout).toBe("printed\n");
    const pid = Number(readFileSync(pidfile, "utf8"));
    try {
      expect(await waitFor(() => gone(pid), 5000)).toBe(true);
    } finally {
      if (isRunning(pid, "sleep")) process.kill(pid, "SIGKILL");
    }
  });

  test("output still coming after the command exited is waited for", async () => {
    // A writer every 0.3 s keeps the pipes busy: PIPE_GRACE_MS counts from the last output.
    const { stdout } = await exec(local, ["sh", "-c", "(for i in 1 2 3 4; do sleep 0.3; echo $i; done) & echo 0"]);
    expect(stdout).toBe("0\n1\n2\n3\n4\n");
  });

  test("output larger than a pipe's buffer comes back whole", async () => {
    expect((await exec(local, ["head", "-c", "3000000", "/dev/zero"])).stdout).toHaveLength(3_000_000);
  });
});

describe("over SSH", () => {
  // The whole argv: ssh's options, the destination, and one command line quoted by shellQuote alone.
  // sudo wraps all of it, timeout included (root's timeout can kill what the command started);
  // env comes after sudo, whose reset would drop an OVS_RUNDIR set before it.
  test.each([
    { who: "root", extra: {}, line: "timeout -k 2 20 ovs-ofctl add-flows br0 -" },
    { who: "a sudo user", extra: { user: "deploy", become: "sudo" }, line: "sudo -n -- timeout -k 2 20 ovs-ofctl add-flows br0 -" },
    {
      who: "root, in a lab host's namespace with its OVS",
      extra: { netns: "lab-host2", ovsRundir: "/run/x" },
      line: "timeout -k 2 20 ip netns exec lab-host2 env OVS_RUNDIR=/run/x ovs-ofctl add-flows br0 -",
    },
    {
      who: "a sudo user, in a lab host's namespace with its OVS",
      extra: { user: "deploy", become: "sudo", netns: "lab-host2", ovsRundir: "/run/x" },
      line: "sudo -n -- timeout -k 2 20 ip netns exec lab-host2 env OVS_RUNDIR=/run/x ovs-ofctl add-flows br0 -",
    },
  ] as const)("the exact ssh argv for $who", ({ extra, line }) => {
    const host = sshHost({ port: 2222, ...extra });
    const { argv, env } = commandFor(host, ["ovs-ofctl", "add-flows", "br0", "-"], 20_000);
    expect(env).toEqual({});
    expect(argv).toEqual([
      "ssh",
      "-o", "BatchMode=yes",
      "-o", "ConnectTimeout=10",
      "-o", "StrictHostKeyChecking=yes",
      "-o", "ControlMaster=auto",
      "-o", expect.stringMatching(/^ControlPath=\/\S+\/[0-9a-f]{24}$/),
      "-o", "ControlPersist=60",
      "-o", "ServerAliveInterval=5",
      "-o", "ServerAliveCountMax=2",
      "-p", "2222",
      `${host.user}@${host.address}`,
      "--",
      line,
    ]);
  });

  test("through sudo, a shell reading the line gets the words sudo runs, the argv exactly among them", async () => {
    const argv = ["printf", "%s\\n", "$HOME", "`id`", "a\nb", "'\"", "*", "x;y|z&", "-n", "--"];
    const line = commandFor(sshHost({ user: "deploy", become: "sudo" }), argv).argv.at(-1)!;
    const { stdout } = await exec(local, ["sh", "-c", `printf '%s\\0' ${line}`]);
    expect(stdout.split("\0").slice(0, -1)).toEqual(["sudo", "-n", "--", "timeout", "-k", "2", "30", ...argv]);
  });

  test.each([true, "su", "doas", "sudo -i", "sudo; reboot"])("become %j is refused before any host is touched", (become) => {
    const parsed = hostSpec.safeParse({ kind: "ssh", address: "198.51.100.10", user: "deploy", become });
    expect(parsed.error?.issues.map((i) => [i.path, i.message])).toEqual([[["become"], 'must be "sudo" (each command run as root through sudo -n), or left out']]);
  });

  test("the host's label says the commands run through sudo", () => {
    expect(hostLabel({ kind: "ssh", address: "198.51.100.10", user: "deploy", become: "sudo" })).toBe("ssh deploy@198.51.100.10:22 with sudo");
    expect(hostLabel({ kind: "ssh", address: "198.51.100.10", port: 2222, user: "root" })).toBe("ssh root@198.51.100.10:2222");
  });

  test("the remote command has the same time budget: killing ssh here would leave it running there", () => {
    const { argv } = commandFor(sshHost({ netns: "lab-host2", ovsRundir: "/run/x" }), ["ovs-vsctl", "show"], 1500);
    expect(argv.at(-1)).toBe("timeout -k 2 1.5 ip netns exec lab-host2 env OVS_RUNDIR=/run/x ovs-vsctl show");
  });

  test("sockets and known_hosts files are in a directory of this user's, mode 0700, in none others can write to", () => {
    const dir = dirname(sshOption(commandFor(sshHost(), ["true"]).argv, "ControlPath"));
    const st = lstatSync(dir);
    expect({ directory: st.isDirectory(), uid: st.uid, mode: (st.mode & 0o7777).toString(8) }).toEqual({ directory: true, uid: process.geteuid!(), mode: "700" });
    expect((lstatSync(dirname(dir)).mode & 0o022).toString(8)).toBe("0");
  });

  test.each([
    { port: 22, entry: (address: string) => `${address} ${hostKey}` },
    { port: 2222, entry: (address: string) => `[${address}]:2222 ${hostKey}` },
  ])("port $port: hostKey is written as ssh looks it up", ({ port, entry }) => {
    const host = sshHost({ port, hostKey });
    const knownHosts = sshOption(commandFor(host, ["true"]).argv, "UserKnownHostsFile");
    try {
      expect(readFileSync(knownHosts, "utf8")).toBe(`${entry(host.address)}\n`);
    } finally {
      rmSync(knownHosts, { force: true });
    }
  });

  test("the known_hosts file is replaced, never written through a link planted in its place", () => {
    const host = sshHost({ hostKey });
    const knownHosts = sshOption(commandFor(host, ["true"]).argv, "UserKnownHostsFile");
    const target = join(scratch, "precious");
    writeFileSync(target, "precious\n");
    rmSync(knownHosts);
    symlinkSync(target, knownHosts);
    try {
      commandFor(host, ["true"]);
      expect(readFileSync(target, "utf8")).toBe("precious\n");
      expect(lstatSync(knownHosts).isFile()).toBe(true);
      expect(readFileSync(knownHosts, "utf8")).toBe(`[${host.address}]:${host.port} ${hostKey}\n`);
    } finally {
      rmSync(knownHosts, { force: true });
    }
  });

  test("a missing directory is made, private", () => {
    const dir = join(scratch, "made", "ssh");
    sshOptions(sshHost({ hostKey }), dir);
    expect((lstatSync(dir).mode & 0o777).toString(8)).toBe("700");
  });

  const euid = process.geteuid!();
  test.each([
    {
      what: "a directory owned by another user",
      plant: (dir: string) => {
        mkdirSync(dir, { mode: 0o700 });
        chownSync(dir, 4242, 4242);
      },
      says: new RegExp(`ssh's directory for control sockets and known_hosts files, is owned by uid 4242, not by this user \\(uid ${euid}\\): remove it \\(rm -r .*/ssh\\) and run again`),
    },
    {
      what: "a directory of mode 0777",
      plant: (dir: string) => {
        mkdirSync(dir);
        chmodSync(dir, 0o777);
      },
      says: /, has mode 0777: group or others can use it: remove it \(rm -r .*\/ssh\) and run again/,
    },
    {
      what: "a symbolic link (to a private directory)",
      plant: (dir: string) => {
        mkdirSync(`${dir}.real`, { mode: 0o700 });
        symlinkSync(`${dir}.real`, dir);
      },
      says: /, is a symbolic link \(to .*\/ssh\.real\): remove the link \(rm .*\/ssh\) and run again/,
    },
    {
      what: "a directory inside one others can write to",
      plant: (dir: string) => {
        chmodSync(dirname(dir), 0o777);
        mkdirSync(dir, { mode: 0o700 });
      },
      says: /, is inside .*\/parent, which group or others can write to \(mode 0777\): make .*\/parent owned by root or this user and writable by no one else/,
    },
  ])("$what is refused, saying what to do", ({ plant, says }) => {
    const dir = join(scratch, "parent", "ssh");
    mkdirSync(dirname(dir), { mode: 0o700 });
    plant(dir);
    expect(() => sshOptions(sshHost({ hostKey }), dir)).toThrow(says);
  });
});

test("OVS_OFFLOAD_LAB_TRACE: each command a JSON line, failed ones with their exit code, standard input left out", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ool-trace-"));
  const file = join(dir, "trace.jsonl");
  process.env.OVS_OFFLOAD_LAB_TRACE = file;
  try {
    const host = { kind: "netns", netns: "ool-host1" } as const;
    await withExecutor(
      async (_h, argv) => {
        if (argv[0] === "false") throw new CommandError(hostLabel(host), argv, 1, "", "", "exited 1");
        return { stdout: "", stderr: "" };
      },
      async () => {
        await exec(host, ["ovs-vsctl", "list-br"], { stdin: "secret" });
        await expect(exec(host, ["false"])).rejects.toThrow(CommandError);
      },
    );
    const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { host: "netns ool-host1", argv: ["ovs-vsctl", "list-br"], ms: expect.any(Number), exitCode: 0 },
      { host: "netns ool-host1", argv: ["false"], ms: expect.any(Number), exitCode: 1 },
    ]);
  } finally {
    delete process.env.OVS_OFFLOAD_LAB_TRACE;
    rmSync(dir, { recursive: true, force: true });
  }
});
