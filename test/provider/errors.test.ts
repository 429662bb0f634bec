// The one classifier of failed commands, on real failures recorded through
// the transport (test/fixtures/errors/recorded.json: OVS, iproute2, ssh, sudo,
// coreutils, ping, each failing the way a host makes them fail), and on the
// ways a command can fail without exiting.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { classify, type ErrorKind } from "../../provider/errors.ts";
import { CommandError, exec, ignoring } from "../../provider/host.ts";
import { isNoSuchBridge } from "../../provider/ovs/ofctl.ts";

interface Recorded {
  what: string;
  host: "local" | "netns" | "ssh";
  argv: string[];
  exitCode: number;
  stderr: string;
}
const { failures } = JSON.parse(readFileSync(join(import.meta.dirname, "../fixtures/errors/recorded.json"), "utf8")) as { failures: Recorded[] };

const expected: Record<string, ErrorKind> = {
  "vsctl del-br missing": "not-found",
  "vsctl add-br exists": "exists",
  "vsctl set missing row": "not-found",
  "vsctl add-port missing bridge": "not-found",
  "vsctl unknown column": "refused",
  "vsctl bad value": "refused",
  "vsctl add-port exists": "exists",
  "ofctl dump-flows missing": "not-found",
  "ofctl del-flows missing": "not-found",
  "ofctl bundle bad action": "refused",
  "ofctl bundle drop with another action": "refused",
  "ofctl parse-flows bad": "refused",
  "ofctl add-meter exists": "exists",
  "ofctl mod-meter missing": "not-found",
  "ofctl del-meter missing bridge": "not-found",
  // The database socket is missing: OVS is down, which is no answer about any bridge.
  "vsctl no database": "failed",
  "netns exec missing namespace": "unreachable",
  "ip -n missing namespace": "unreachable",
  "netns exec stale namespace": "unreachable",
  "ip -n stale namespace": "unreachable",
  "ip link show missing": "not-found",
  "ip netns add exists": "exists",
  "ip netns del missing": "not-found",
  "ip link add exists": "exists",
  "ip altname exists": "exists",
  "ip batch garbage": "refused",
  "ip link set missing": "not-found",
  "ip addr bad": "refused",
  "readlink missing": "not-found",
  "test -d missing": "not-found",
  "ls missing": "not-found",
  "cat missing": "not-found",
  "tee missing dir": "not-found",
  "kill missing": "not-found",
  "ping no answer": "not-found",
  "ping no route": "failed",
  "ssh refused": "unreachable",
  "ssh host key changed": "unreachable",
  "ssh no host key": "unreachable",
  "ssh network unreachable": "unreachable",
  "ssh remote netns missing": "unreachable",
  "ssh remote vsctl missing bridge": "not-found",
  "ssh permission denied": "unreachable",
  "ssh server frozen, new connection": "unreachable",
  "ssh server frozen under a shared connection": "unreachable",
  // The program is not there: no answer about what it was asked.
  "netns exec missing program": "failed",
  "timeout missing program (the ssh wrapper)": "failed",
  "env missing program (the ssh wrapper)": "failed",
  // sudo -n (an SSH host's become) would have had to ask, or is not allowed: what the user must change on the host.
  "sudo password required": "denied",
  "sudo requiretty": "denied",
  "sudo command not allowed": "denied",
};

describe("classify, on recorded failures", () => {
  test("every recording has its expected kind, and every expectation a recording", () => {
    expect(failures.map((f) => f.what).sort()).toEqual(Object.keys(expected).sort());
  });

  test.each(failures)("$what ($host, exit $exitCode)", ({ what, argv, exitCode, stderr }) => {
    expect(classify(argv, exitCode, stderr)).toBe(expected[what]);
  });

  test("a remote command's own exit 255 is not ssh's unless ssh's words say so", () => {
    expect(classify(["sh", "-c", "exit 255"], 255, "")).toBe("failed");
    // A warning about a stale control socket comes before the command's own answer.
    expect(classify(["ovs-vsctl", "--", "del-br", "x"], 1, "Control socket connect(/run/x): Connection refused\r\novs-vsctl: no bridge named x\n")).toBe("not-found");
  });
});

describe("classify, a command that never exited", () => {
  const spawnError = Object.assign(new Error("spawn no-such-program ENOENT"), { code: "ENOENT", syscall: "spawn no-such-program" });
  const connectError = Object.assign(new Error("connect ENOENT /run/guest/console.sock"), { code: "ENOENT", syscall: "connect" });
  const resetError = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", syscall: "read" });
  test.each([
    ["out of time", new DOMException("timed out after 100 ms", "TimeoutError"), "timeout"],
    ["an argument no command line carries", new TypeError("The argument 'args[0]' must be a string without null bytes"), "refused"],
    ["a console socket that is not there", connectError, "unreachable"],
    ["a console that dropped the connection", resetError, "unreachable"],
    ["a program that is not there: no answer about any object", spawnError, "failed"],
    ["killed by a signal", undefined, "failed"],
  ] as const)("%s: %s", (_, cause, kind) => {
    expect(classify(["x"], null, "", cause)).toBe(kind);
  });
});

describe("CommandError", () => {
  const local = { kind: "local" } as const;

  test("the message has the command as a shell line, and the kind", async () => {
    const err = await exec(local, ["ls", "-1", "/nonexistent dir/net"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ kind: "not-found", exitCode: 2 });
    expect((err as Error).message).toBe("on localhost: `ls -1 '/nonexistent dir/net'` exited 2: ls: cannot access '/nonexistent dir/net': No such file or directory");
  });

  test("sudo's refusal: the message says what to change on the host", () => {
    const refusal = failures.find((f) => f.what === "sudo password required")!;
    const err = new CommandError("ssh deploy@198.51.100.10:22 with sudo", refusal.argv, refusal.exitCode, "", refusal.stderr, `exited ${refusal.exitCode}`);
    expect(err.kind).toBe("denied");
    expect(err.message).toBe(
      "on ssh deploy@198.51.100.10:22 with sudo: `ovs-vsctl --timeout=20 -- del-br nosuch` exited 1: sudo: a password is required\n" +
        "the provider runs sudo -n, which never asks for a password: on that host, give the SSH user a sudoers rule with NOPASSWD (and without requiretty), " +
        "e.g. `<user> ALL=(root) NOPASSWD: ALL` in /etc/sudoers.d/ (docs/stacks.md: An SSH user who is not root)",
    );
  });

  test.each([
    ["a timeout", ["sleep", "5"], { timeoutMs: 100 }, "timeout", /timed out after 100 ms$/],
    ["a missing program, with spawn's error as the cause", ["no-such-program-here"], {}, "failed", /could not start \(spawn no-such-program-here ENOENT\)$/],
    ["a NUL byte in an argument: nothing runs", ["echo", "a\0b"], {}, "refused", /was not run \(The argument .* must be a string without null bytes/],
  ] as const)("%s", async (_, argv, options, kind, message) => {
    const err = await exec(local, argv, options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ kind, exitCode: null });
    expect((err as Error).message).toMatch(message);
    if (kind !== "timeout") expect((err as Error).cause).toBeInstanceOf(Error);
  });

  test("ignoring: undefined for the kinds given, the error thrown on for others", async () => {
    expect(await exec(local, ["test", "-d", "/nonexistent"]).catch(ignoring("not-found"))).toBeUndefined();
    await expect(exec(local, ["sleep", "5"], { timeoutMs: 100 }).catch(ignoring("not-found"))).rejects.toMatchObject({ kind: "timeout" });
  });

  test("isNoSuchBridge: a delete that found nothing, and only that", () => {
    const failure = (stderr: string) => new CommandError("netns h1", ["ovs-ofctl", "del-flows", "br0"], 1, "", stderr, "exited 1");
    expect(isNoSuchBridge(failure("ovs-ofctl: br0 is not a bridge or a socket\n"))).toBe(true);
    expect(isNoSuchBridge(failure("ovs-ofctl: br0: failed to connect to socket (Broken pipe)\n"))).toBe(false);
    expect(isNoSuchBridge(new Error("is not a bridge or a socket"))).toBe(false);
  });
});
