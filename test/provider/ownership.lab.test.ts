// Ownership on a shared host: an object is a resource's only while it bears
// that resource's mark, and the mark names the stack instance, not just its
// names. Two checkouts with the same project and stack names never take each
// other's objects; refresh drops, and destroy leaves alone, an object of the
// same name that another owner (or nobody) made since.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { exec, ignoring } from "../../provider/host.ts";
import { netnsNames } from "../../provider/ip.ts";
import { dumpFlowsArgv } from "../../provider/ovs/ofctl.ts";
import { hostSnapshot, testLabName } from "../support/machine.ts";
import { testStack, type TestStack } from "../support/stack.ts";

const lab = labLayout(testLabName(), 1);
const host = lab.hosts[0].spec;
const ns = `${lab.name}-own`;
const vsctl = (...args: string[]) => exec(host, ["ovs-vsctl", "--timeout=5", ...args]).then((r) => r.stdout.trim());
const meters = () => exec(host, ["ovs-ofctl", "-O", "OpenFlow13", "dump-meters", "br-own"]).then((r) => r.stdout);
const namespaces = () => netnsNames({ kind: "local" });
const flows = () => exec(host, dumpFlowsArgv("br-own")).then((r) => r.stdout);

/** A bridge with a port, a meter and a flow using it, and a namespace: one of each kind that marks its objects. */
const spec = [
  { kind: "Bridge", name: "br", args: { host, name: "br-own", datapathType: "netdev" } },
  { kind: "Port", name: "p", dependsOn: ["br"], args: { host, bridge: "br-own", name: "own-int", type: "internal", ofportRequest: 7 } },
  { kind: "Meter", name: "m", dependsOn: ["br"], args: { host, bridge: "br-own", meterId: 7, bands: [{ type: "drop", rate: 1000 }] } },
  { kind: "FlowSet", name: "f", dependsOn: ["p"], args: { host, bridge: "br-own", meters: ["m"], flows: [{ priority: 7, match: "in_port=7", actions: "meter:7,output:in_port" }] } },
  { kind: "Netns", name: "n", args: { host, name: ns } },
];

let before: unknown;
const stacks: TestStack[] = [];
/** A fixture stack, disposed after all tests whatever happens. */
const stack = async (name: string) => {
  const s = await testStack("resources", { stackName: name });
  stacks.push(s);
  return s;
};
beforeAll(async () => {
  await labUp(lab, () => {});
  before = await hostSnapshot(host);
});
afterAll(async () => {
  for (const s of stacks) await s.dispose();
  await exec({ kind: "local" }, ["ip", "netns", "del", ns]).catch(ignoring("not-found")); // a test that failed half-way may leave it
  await labDown(lab, () => {});
});

describe("two checkouts with the same project and stack names", () => {
  test("the second is refused every object the first made, and its destroy takes none of them", async () => {
    const [a, b] = [await stack("shared"), await stack("shared")];
    await a.up(spec);
    const made = { bridge: await vsctl("get", "Bridge", "br-own", "external_ids"), meters: await meters(), flows: await flows() };

    const refused = await b.up(spec).then(() => "succeeded", (err: Error) => err.message);
    expect(refused).toMatch(/bridge br-own already exists on netns .* and is owned by \S+\/shared\/Bridge\/br\/[0-9a-f]{16}/);
    expect(refused).toMatch(/network namespace \S+-own already exists on netns \S+ and is not this resource.s/);
    await b.destroy();

    expect(await vsctl("get", "Bridge", "br-own", "external_ids")).toBe(made.bridge);
    expect(await meters()).toBe(made.meters);
    expect(await flows()).toBe(made.flows);
    expect(await namespaces()).toContain(ns);
    // The first still owns them all: nothing to change, and its destroy cleans up.
    expect((await a.up(spec)).summary.resourceChanges).toEqual({ same: 7 });
    await a.destroy();
    expect(await hostSnapshot(host)).toEqual(before);
    expect(await namespaces()).not.toContain(ns);
  });
});

describe("an object of the same name that another owner made since", () => {
  test("refresh drops it from the state, destroy leaves it, up refuses it", async () => {
    const [a, b] = [await stack("a"), await stack("b")];
    await a.up(spec);
    // Behind a's back: the bridge now says it is someone else's; meter 7 went
    // (as in an OVS restart) and stack b made its own meter 7; the namespace
    // was deleted and made again by hand, unmarked.
    await vsctl("set", "Bridge", "br-own", "external_ids:ovs-offload-lab.owner=someone/else/Bridge/br");
    await exec(host, ["ovs-ofctl", "-O", "OpenFlow13", "del-meter", "br-own", "meter=7"]);
    await b.up([{ kind: "Meter", name: "m", args: { host, bridge: "br-own", meterId: 7, bands: [{ type: "drop", rate: 2000 }] } }]);
    await exec({ kind: "local" }, ["ip", "netns", "del", ns]);
    await exec({ kind: "local" }, ["ip", "netns", "add", ns]);

    const refresh = await a.refresh();
    expect(refresh.summary.resourceChanges).toMatchObject({ delete: 4 }); // bridge, meter, flows (gone with the meter), namespace; the port is still a's

    await expect(a.up(spec)).rejects.toThrow(/bridge br-own already exists on netns .* and is owned by someone\/else\/Bridge\/br/);
    await a.destroy();
    expect(await vsctl("list-br")).toContain("br-own");
    expect(await meters()).toMatch(/meter=7 kbps bands=\s*type=drop rate=2000/);
    expect(await namespaces()).toContain(ns);

    await b.destroy();
    expect(await meters()).not.toMatch(/meter=7/);
    await vsctl("del-br", "br-own");
    await exec({ kind: "local" }, ["ip", "netns", "del", ns]);
    expect(await hostSnapshot(host)).toEqual(before);
  });
});

describe("adopt: true", () => {
  test("takes over a bridge, port, meter and namespace made by hand, never another stack's; destroy then removes them", async () => {
    // Made by hand: what the seed's notes type, before any stack.
    await vsctl("add-br", "br-own", "--", "set", "Bridge", "br-own", "datapath_type=netdev", "protocols=OpenFlow10,OpenFlow13,OpenFlow14");
    await vsctl("add-port", "br-own", "own-int", "--", "set", "Interface", "own-int", "type=internal", "ofport_request=7");
    await exec(host, ["ovs-ofctl", "-O", "OpenFlow13", "add-meter", "br-own", "meter=7,kbps,band=type=drop,rate=500"]);
    await exec({ kind: "local" }, ["ip", "netns", "add", ns]);
    const c = await stack("c");

    // Without adopt: refused, and told how to take it over.
    await expect(c.up(spec)).rejects.toThrow(/bridge br-own already exists on netns \S+ and is not made by ovs-offload-lab; .* set adopt: true to take it over/);
    const adopting = spec.map((r) => (r.kind === "FlowSet" ? r : { ...r, args: { ...r.args, adopt: true } }));
    expect((await c.preview(adopting)).changeSummary).toMatchObject({ create: 5 });
    await c.up(adopting);
    expect(await vsctl("get", "Bridge", "br-own", "external_ids:ovs-offload-lab.owner")).toMatch(/\/c\/Bridge\/br\/[0-9a-f]{16}"?$/);
    expect(await vsctl("get", "Port", "own-int", "external_ids:ovs-offload-lab.owner")).toMatch(/\/c\/Port\/p\/[0-9a-f]{16}"?$/);
    expect(await vsctl("get", "Bridge", "br-own", "external_ids:ovs-offload-lab.meter.7")).toMatch(/\/c\/Meter\/m\//);
    expect(await meters()).toMatch(/meter=7 kbps bands=\s*type=drop rate=1000/);
    expect((await exec({ kind: "local" }, ["ip", "-n", ns, "link", "show", "lo"])).stdout).toMatch(/altname ool-ns-[0-9a-f]{16}/);
    expect((await c.up(adopting)).summary.resourceChanges).toEqual({ same: 7 });

    // Another stack's objects are never adopted.
    const d = await stack("d");
    await expect(d.up(adopting)).rejects.toThrow(/bridge br-own already exists on netns \S+ and is owned by \S+\/c\/Bridge\/br\//);
    await d.destroy();

    await c.destroy();
    expect(await hostSnapshot(host)).toEqual(before);
    expect(await namespaces()).not.toContain(ns);
  });
});
