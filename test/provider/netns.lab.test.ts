// Netns, Veth and NetnsLink through the real engine on a lab host, with real
// traffic between two namespaces.
import { describe, expect, test } from "vitest";
import { exec } from "../../provider/host.ts";
import { labLayout } from "../../lab/layout.ts";
import { hostSnapshot, testLabName } from "../support/machine.ts";
import { useLabStack } from "../support/stack.ts";

const lab = labLayout(testLabName(), 2);
const host = lab.hosts[1].spec;
const ns1 = `${lab.name}-ns1`;
const ns2 = `${lab.name}-ns2`;
const inNs = (netns: string, ...argv: string[]) => exec(host, ["ip", "netns", "exec", netns, ...argv]).then((r) => r.stdout);

const spec = (ns1Address = "198.51.100.1/24") => [
  { kind: "Netns", name: "ns1", args: { host, name: ns1 } },
  { kind: "Netns", name: "ns2", args: { host, name: ns2 } },
  { kind: "Veth", name: "pair", args: { host, name: "v1", peerName: "v2" } },
  {
    kind: "NetnsLink", name: "v1-in-ns1", dependsOn: ["ns1", "pair"],
    args: {
      host, link: "v1", netns: ns1, mtu: 1450, mac: "02:00:00:00:00:01", addresses: [ns1Address],
      neighbours: [{ ip: "198.51.100.254", mac: "fa:ff:ff:ff:ff:ff" }], routes: [{ to: "203.0.113.0/24", via: "198.51.100.254" }],
    },
  },
  { kind: "NetnsLink", name: "v2-in-ns2", dependsOn: ["ns2", "pair"], args: { host, link: "v2", netns: ns2, mtu: 1450, addresses: ["198.51.100.2/24"] } },
];

describe("Netns, Veth and NetnsLink", () => {
  const ctx = useLabStack(lab, host);

  test("two namespaces joined by a veth pair talk; a second up and a refresh change nothing", async () => {
    expect((await ctx.s.up(spec())).summary.resourceChanges).toEqual({ create: 7 });
    expect(await inNs(ns1, "ping", "-c", "1", "-W", "2", "198.51.100.2")).toMatch(/1 received/);
    expect(await inNs(ns1, "ip", "neigh", "show", "198.51.100.254")).toMatch(/lladdr fa:ff:ff:ff:ff:ff PERMANENT/);
    expect(await inNs(ns1, "ip", "route", "show", "203.0.113.0/24")).toMatch(/via 198\.51\.100\.254 dev v1/);
    expect(await inNs(ns1, "ip", "link", "show", "v1")).toMatch(/mtu 1450 .*\n.*link\/ether 02:00:00:00:00:01/);
    expect((await ctx.s.up(spec())).summary.resourceChanges).toEqual({ same: 7 });
    await ctx.s.refresh();
    expect((await ctx.s.preview(spec())).changeSummary).toEqual({ same: 7 });
  });

  test("an address changes in place", async () => {
    const up = await ctx.s.up(spec("198.51.100.11/24"));
    expect(up.summary.resourceChanges).toEqual({ same: 6, update: 1 });
    expect(await inNs(ns1, "ip", "-br", "addr", "show", "v1")).toMatch(/198\.51\.100\.11\/24/);
    expect(await inNs(ns1, "ping", "-c", "1", "-W", "2", "198.51.100.2")).toMatch(/1 received/);
  });

  test("an address removed by hand is drift: refresh finds it, up puts it back", async () => {
    await inNs(ns1, "ip", "addr", "del", "198.51.100.11/24", "dev", "v1");
    await ctx.s.refresh();
    expect((await ctx.s.preview(spec("198.51.100.11/24"))).changeSummary).toEqual({ same: 6, update: 1 });
    await ctx.s.up(spec("198.51.100.11/24"));
    expect(await inNs(ns1, "ping", "-c", "1", "-W", "2", "198.51.100.2")).toMatch(/1 received/);
  });

  test("a namespace that already exists is not taken over", async () => {
    await exec({ kind: "local" }, ["ip", "netns", "add", `${lab.name}-taken`]);
    try {
      await expect(ctx.s.up([...spec("198.51.100.11/24"), { kind: "Netns", name: "taken", args: { host, name: `${lab.name}-taken` } }])).rejects.toThrow(
        /network namespace .*-taken already exists .*; delete it/,
      );
    } finally {
      await exec({ kind: "local" }, ["ip", "netns", "del", `${lab.name}-taken`]);
    }
  });

  test("destroy moves the links back, deletes pair and namespaces: the host is as before", async () => {
    await ctx.s.destroy();
    expect(await hostSnapshot(host)).toEqual(ctx.before);
    const { stdout } = await exec(host, ["ip", "-j", "netns", "list"]);
    expect(stdout).not.toMatch(new RegExp(`${lab.name}-ns[12]`));
  });
});
