// Scenario 5's guest for real: the image boots under QEMU (TCG), its console
// runs argument vectors exactly (the same quoting as SSH), a failing command
// says so, and stop leaves nothing behind.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exec, timed } from "../../provider/host.ts";
import { consoleExec } from "../../vm/console.ts";
import { guestFiles, startGuest, stopGuest } from "../../vm/guest.ts";
import { testLabName } from "../support/machine.ts";
import { hostileArgv } from "../support/hostile.ts";

const netns = `${testLabName()}-vm`;
let dir: string;

describe("the scenario 5 guest", () => {
  beforeAll(async () => {
    dir = join(await mkdtemp(join(tmpdir(), "ool-guest-")), "vm");
    await exec({ kind: "local" }, ["ip", "netns", "add", netns]);
    const [, seconds] = await timed(() => startGuest({ dir, host: { kind: "netns", netns }, mac: "02:00:c6:33:64:01", address: "198.51.100.1/24", mtu: 1450, nic: { tap: "vnet1" } }));
    console.log(`guest: booted and answering in ${seconds.toFixed(1)} s`);
  });
  afterAll(async () => {
    await stopGuest(dir);
    await exec({ kind: "local" }, ["ip", "netns", "del", netns]);
    await rm(join(dir, ".."), { recursive: true, force: true });
  });

  test("the guest has its address, on the NIC whose tap is up on the host", async () => {
    const { console: sock } = guestFiles(dir);
    expect((await consoleExec(sock, ["ip", "addr", "show", "eth0"])).stdout).toMatch(/mtu 1450[\s\S]*link\/ether 02:00:c6:33:64:01[\s\S]*inet 198\.51\.100\.1\/24/);
    expect((await exec({ kind: "netns", netns }, ["ip", "link", "show", "vnet1"])).stdout).toMatch(/UP/);
  });

  test("the console gives back exactly the argv, for 30 generated hostile ones", async () => {
    const { console: sock } = guestFiles(dir);
    const gen = hostileArgv(20261130);
    for (let i = 0; i < 30; i++) {
      const argv = gen().map((a) => a.replace(/\n/g, " ")); // the console is line-based: one command, one line
      const { stdout } = await consoleExec(sock, ["printf", "%s\\0", ...argv]);
      expect(stdout.split("\0").slice(0, -1), `case ${i}: ${JSON.stringify(argv)}`).toEqual(argv);
    }
  });

  test("an argument with a line break is refused before it reaches the guest", async () => {
    await expect(consoleExec(guestFiles(dir).console, ["echo", "a\nreboot"])).rejects.toThrow(/was not run: the console takes no line breaks/);
  });

  test("a failing command is an error with its output", async () => {
    await expect(consoleExec(guestFiles(dir).console, ["ls", "/nonexistent"])).rejects.toThrow(/`ls \/nonexistent` exited 1: ls: \/nonexistent: No such file or directory/);
  });

  test("stop removes the guest and its directory", async () => {
    await stopGuest(dir);
    expect(existsSync(dir)).toBe(false);
    await expect(exec({ kind: "netns", netns }, ["ip", "link", "show", "vnet1"])).rejects.toThrow(/does not exist/);
  });
});
