// diff, pure: driven by each kind's schema (the fields it compares, their
// defaults) and replace rules.
import { expect, test } from "vitest";
import { bridgeProvider } from "../../provider/bridge.ts";
import { plain } from "../../provider/resource.ts";

const host = { kind: "netns", netns: "ool-host1" } as const;
const bridge = { host, name: "br0", datapathType: "netdev", protocols: ["OpenFlow10", "OpenFlow13", "OpenFlow14"], otherConfig: {}, externalIds: {}, owner: "p/s/Bridge/br/0123456789abcdef", providerVersion: "0.2.0" };

test("state written before a field existed holds its default: adding a field with a default changes no resource", async () => {
  // adopt came after this state was written.
  expect(await bridgeProvider.diff("br0", bridge as never, { ...bridge, adopt: false } as never)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
  expect((await bridgeProvider.diff("br0", bridge as never, { ...bridge, adopt: true } as never)).changes).toBe(true);
  // Refresh diffs the state's old inputs too: neither side has it.
  expect((await bridgeProvider.diff("br0", bridge as never, bridge as never)).changes).toBe(false);
});

test("a changed field that the kind replaces on is a replace, deleted first", async () => {
  const next = { ...bridge, adopt: false, datapathType: "system" };
  expect(await bridgeProvider.diff("br0", { ...bridge, adopt: false } as never, next as never)).toEqual({ changes: true, replaces: ["datapathType"], deleteBeforeReplace: true });
});

test("outputs lose their undefined members, and an output without any is passed on as it is", () => {
  expect(plain({ a: 1, b: undefined, c: { d: undefined, e: [{ f: undefined, g: "x" }] } })).toEqual({ a: 1, c: { e: [{ g: "x" }] } });
  const clean = { flows: [{ table: 0, match: "", actions: "drop" }], meters: [] };
  expect(plain(clean)).toBe(clean);
});

test("a new provider version alone changes nothing, but state from before 0.2.0 (no marks) is updated in place", async () => {
  expect((await bridgeProvider.diff("br0", bridge as never, { ...bridge, providerVersion: "0.3.0" } as never)).changes).toBe(false);
  expect(await bridgeProvider.diff("br0", { ...bridge, providerVersion: "0.1.0" } as never, bridge as never)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
});
