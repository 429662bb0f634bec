import { describe, expect, test } from "vitest";
import { CommandError, commandFor, exec, shellQuote } from "../../provider/host.ts";

const local = { kind: "local" } as const;

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
    expect(err).toMatchObject({ host: "localhost", exitCode: 3, stderr: "nope\n" });
    expect((err as Error).message).toBe("on localhost: `sh -c echo nope >&2; exit 3` exited 3: nope");
  });

  test("a command that runs too long is killed and says so", async () => {
    const err = await exec(local, ["sleep", "5"], { timeoutMs: 100 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/timed out after 100 ms/);
  });

  test("a missing program is an error, not a hang", async () => {
    const err = await exec(local, ["no-such-program-here"]).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/could not start/);
  });
});
