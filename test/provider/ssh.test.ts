// The SSH transport against a real sshd on loopback: exact argv through the
// one quoting function, host key verification, a shared connection, and the
// provider driving a lab host over SSH through the real engine.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exec } from "../../provider/host.ts";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { testLabName } from "../support/machine.ts";
import { hostileArgv } from "../support/hostile.ts";
import { startSshd, type TestSshd } from "../support/sshd.ts";
import { testStack } from "../support/stack.ts";

describe("SSH transport", () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(() => sshd?.stop());

  test("the remote side receives exactly the argv, for 50 generated hostile ones", async () => {
    const gen = hostileArgv(20261125);
    const started = performance.now();
    const cases = 50;
    for (let i = 0; i < cases; i++) {
      const argv = gen();
      const { stdout } = await exec(sshd.spec(), ["printf", "%s\\0", ...argv]);
      expect(stdout.split("\0").slice(0, -1), `case ${i}: ${JSON.stringify(argv)}`).toEqual(argv);
    }
    const ms = (performance.now() - started) / cases;
    console.log(`ssh: ${cases} commands over one shared connection, ${ms.toFixed(1)} ms per command (the remote user's shell start-up included)`);
  });

  test("a server whose host key is not the expected one is refused", async () => {
    await expect(exec(sshd.spec({ hostKey: sshd.otherHostKey, port: sshd.port }), ["true"])).rejects.toThrow(/ssh root@127\.0\.0\.1:\d+: .* exited 255: .*Host key verification failed/s);
  });

  test("a refused connection is an error naming the host, not a hang", async () => {
    await expect(exec(sshd.spec({ port: 1 }), ["true"])).rejects.toThrow(/on ssh root@127\.0\.0\.1:1: .* exited 255: .*Connection refused/s);
  });

  describe("the provider over SSH", () => {
    const lab = labLayout(testLabName(), 1);
    beforeAll(() => labUp(lab, () => {}));
    afterAll(() => labDown(lab, () => {}));

    test("a bridge and a flow on a lab host reached over SSH", async () => {
      const h = lab.hosts[0];
      const host = sshd.spec({ netns: h.netns, ovsRundir: h.ovsRundir });
      const s = await testStack("resources");
      try {
        const spec = [
          { kind: "Bridge", name: "br", args: { host, name: "br-ssh", datapathType: "netdev" } },
          { kind: "Flow", name: "f", dependsOn: ["br"], args: { host, bridge: "br-ssh", match: "in_port=1", actions: "drop" } },
        ];
        expect((await s.up(spec)).summary.resourceChanges).toEqual({ create: 3 });
        expect((await exec(h.spec, ["ovs-ofctl", "--no-stats", "dump-flows", "br-ssh"])).stdout).toMatch(/in_port=1 actions=drop/);
        expect((await s.up(spec)).summary.resourceChanges).toEqual({ same: 3 });
        await s.destroy();
        expect((await exec(h.spec, ["ovs-vsctl", "list-br"])).stdout.trim()).toBe("br-phy");
      } finally {
        await s.dispose();
      }
    });
  });
});
