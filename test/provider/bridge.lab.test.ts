// Bridge and Port through the real engine on a lab host.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { bridgeProvider } from "../../provider/bridge.ts";
import { exec } from "../../provider/host.ts";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { testLabName } from "../support/machine.ts";
import { testStack, type TestStack } from "../support/stack.ts";

const lab = labLayout(testLabName(), 2);
const host = lab.hosts[0].spec;
const vsctl = (...args: string[]) => exec(host, ["ovs-vsctl", "--timeout=5", ...args]).then((r) => r.stdout.trim());

describe("Bridge", () => {
  let s: TestStack;
  beforeAll(async () => {
    await labUp(lab, () => {});
    s = await testStack("resources");
  });
  afterAll(async () => {
    await s?.dispose();
    await labDown(lab, () => {});
  });

  const bridge = (args: Record<string, unknown> = {}) => [{ kind: "Bridge", name: "br", args: { host, name: "br0", datapathType: "netdev", ...args } }];

  test("create, then a second up changes nothing", async () => {
    const up = await s.up(bridge({ failMode: "secure", externalIds: { role: "test" } }));
    expect(up.summary.resourceChanges).toEqual({ create: 3 });
    expect(await vsctl("get", "Bridge", "br0", "datapath_type", "fail_mode", "external_ids:role")).toBe('netdev\nsecure\ntest');
    const again = await s.up(bridge({ failMode: "secure", externalIds: { role: "test" } }));
    expect(again.summary.resourceChanges).toEqual({ same: 3 });
  });

  test("fail_mode and external_ids change in place", async () => {
    const up = await s.up(bridge({ externalIds: { role: "other" } }));
    expect(up.summary.resourceChanges).toEqual({ same: 2, update: 1 });
    expect(await vsctl("get", "Bridge", "br0", "fail_mode", "external_ids:role")).toBe('[]\nother');
  });

  test("refresh finds a hand change and up repairs it", async () => {
    await vsctl("set", "Bridge", "br0", "fail_mode=secure");
    await s.refresh();
    const up = await s.up(bridge({ externalIds: { role: "other" } }));
    expect(up.summary.resourceChanges).toEqual({ same: 2, update: 1 });
    expect(await vsctl("get", "Bridge", "br0", "fail_mode")).toBe("[]");
  });

  test("bad input fails in check, naming the field", async () => {
    await expect(s.preview(bridge({ name: "a-very-long-bridge-name" }))).rejects.toThrow(/property name value \{a-very-long-bridge-name\} has a problem: must be at most 15 bytes/);
  });

  test("a bridge someone else made is refused, not taken over", async () => {
    await vsctl("add-br", "theirs", "--", "set", "Bridge", "theirs", "datapath_type=netdev");
    try {
      await expect(s.up([...bridge(), { kind: "Bridge", name: "mine", args: { host, name: "theirs", datapathType: "netdev" } }])).rejects.toThrow(
        /bridge theirs already exists on netns .* and is not made by ovs-offload-lab/,
      );
      expect(await vsctl("list-br")).toContain("theirs");
    } finally {
      await vsctl("del-br", "theirs");
    }
  });

  test("reading from a host that does not answer is an error, never 'gone'", async () => {
    const props = { host: { kind: "netns" as const, netns: `${lab.name}-missing` }, name: "br0", datapathType: "netdev" as const, protocols: [], otherConfig: {}, externalIds: {}, adopt: false, owner: "x", providerVersion: "x" };
    await expect(bridgeProvider.read("br0", props)).rejects.toThrow(/on netns .*-missing: `ovs-vsctl .*` exited 255: Cannot open network namespace/);
  });

  test("destroy removes the bridge", async () => {
    await s.destroy();
    expect(await vsctl("list-br")).toBe("br-phy");
  });
});
