// Hand changes behind a stack's back — a port removed, an MTU changed, a
// namespace deleted — found by refresh and repaired by up; and the replaces
// of the namespace resources. Real engine, real OVS, on a lab host.
import { beforeAll, describe, expect, test } from "vitest";
import { exec } from "../../provider/host.ts";
import { labLayout } from "../../lab/layout.ts";
import { hostSnapshot, testLabName } from "../support/machine.ts";
import { useLabStack } from "../support/stack.ts";

const lab = labLayout(testLabName(), 1);
const host = lab.hosts[0].spec;
const ns = (n: number) => `${lab.name}-d${n}`;
const run = (argv: string[]) => exec(host, argv).then((r) => r.stdout.trim());
const vsctl = (...args: string[]) => run(["ovs-vsctl", "--timeout=5", ...args]);
const netnsList = async () => ((JSON.parse((await exec({ kind: "local" }, ["ip", "-j", "netns", "list"])).stdout || "[]") as { name: string }[]).map((n) => n.name));

const spec = (name = ns(1)) => [
  { kind: "Bridge", name: "br", args: { host, name: "br-d", datapathType: "netdev" } },
  { kind: "Port", name: "p", dependsOn: ["br"], args: { host, bridge: "br-d", name: "p-int", type: "internal", mtuRequest: 1450 } },
  { kind: "Netns", name: "ns", args: { host, name } },
  { kind: "Veth", name: "pair", args: { host, name: "dv1", peerName: "dv2" } },
  // The link takes the namespace's name as an output: a property dependency, so a replaced namespace replaces the link first.
  { kind: "NetnsLink", name: "placed", args: { host, link: { ref: "pair", output: "name" }, netns: { ref: "ns", output: "name" }, mtu: 1450, addresses: ["198.51.100.1/24"] } },
];

describe("drift and replace", () => {
  const ctx = useLabStack(lab, host);
  beforeAll(async () => {
    expect((await ctx.s.up(spec())).summary.resourceChanges).toEqual({ create: 7 });
  });

  test("a port removed by hand: refresh finds it gone, up makes it again", async () => {
    await vsctl("del-port", "br-d", "p-int");
    await ctx.s.refresh();
    expect((await ctx.s.preview(spec())).changeSummary).toEqual({ create: 1, same: 6 });
    await ctx.s.up(spec());
    expect(await vsctl("get", "Interface", "p-int", "mtu_request")).toBe("1450");
  });

  test("an MTU changed by hand, in OVS and in a namespace: refresh shows both, up puts them back", async () => {
    await vsctl("set", "Interface", "p-int", "mtu_request=1400");
    await run(["ip", "-n", ns(1), "link", "set", "dv1", "mtu", "1400"]);
    await ctx.s.refresh();
    expect((await ctx.s.preview(spec())).changeSummary).toEqual({ update: 2, same: 5 });
    await ctx.s.up(spec());
    expect(await vsctl("get", "Interface", "p-int", "mtu_request")).toBe("1450");
    expect(await run(["ip", "-n", ns(1), "link", "show", "dv1"])).toMatch(/mtu 1450/);
  });

  test("a namespace deleted by hand takes its veth pair along: refresh finds all three gone, up makes them again", async () => {
    await exec({ kind: "local" }, ["ip", "netns", "del", ns(1)]);
    await ctx.s.refresh();
    expect((await ctx.s.preview(spec())).changeSummary).toEqual({ create: 3, same: 4 });
    await ctx.s.up(spec());
    expect(await run(["ip", "-n", ns(1), "-br", "addr", "show", "dv1"])).toMatch(/198\.51\.100\.1\/24/);
  });

  test("a namespace renamed is replaced, and the link placed in it with it", async () => {
    const up = await ctx.s.up(spec(ns(2)));
    expect(up.summary.resourceChanges).toEqual({ replace: 2, same: 5 });
    expect(await netnsList()).not.toContain(ns(1));
    expect(await run(["ip", "-n", ns(2), "-br", "addr", "show", "dv1"])).toMatch(/198\.51\.100\.1\/24/);
  });

  test("destroy leaves the host as before", async () => {
    await ctx.s.destroy();
    expect(await hostSnapshot(host)).toEqual(ctx.before);
    expect(await netnsList()).not.toContain(ns(2));
  });
});
