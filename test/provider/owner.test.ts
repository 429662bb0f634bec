// Owners: unique per stack instance, kept for a resource's life, old owners
// kept as they are; and the cookie that follows from an owner.
import { describe, expect, test } from "vitest";
import { stackInstanceProvider } from "../../provider/instance.ts";
import { cookieFor, madeBefore, settleOwner } from "../../provider/resource.ts";
import { providers } from "../../provider/runtime.ts";

const host = { kind: "netns", netns: "ool-host1" };
const check = (olds: Record<string, unknown>, news: Record<string, unknown>) =>
  providers.FlowSet.check(olds, news) as Promise<{ inputs?: Record<string, unknown>; failures?: unknown[] }>;
const flowSet = (owner: string) => ({ host, bridge: "br0", flows: [{ match: "in_port=7", actions: "output:1" }], owner, providerVersion: "0.2.0" });

describe("StackInstance", () => {
  test("two new stacks with the same names draw two instances; a stack keeps its own ever after", async () => {
    const a = (await stackInstanceProvider.check({}, {})).inputs as { instance: string };
    const b = (await stackInstanceProvider.check({}, {})).inputs as { instance: string };
    expect(a.instance).toMatch(/^[0-9a-f]{16}$/);
    expect(b.instance).not.toBe(a.instance);
    expect((await stackInstanceProvider.check(a, {})).inputs).toEqual(a);
    expect((await stackInstanceProvider.diff()).changes).toBe(false);
  });

  test("an instance that is not 16 hex digits is never taken", async () => {
    expect(((await stackInstanceProvider.check({ instance: "x;reboot" }, { instance: "../../etc" })).inputs as { instance: string }).instance).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe("settleOwner", () => {
  test("the owner in the state is kept, one made before instances existed too", () => {
    expect(settleOwner("proj/s/Bridge/br/0123456789abcdef", "proj/s/Bridge/br/fedcba9876543210")).toBe("proj/s/Bridge/br/0123456789abcdef");
    expect(settleOwner("proj/s/Bridge/br", "proj/s/Bridge/br/fedcba9876543210")).toBe("proj/s/Bridge/br");
  });

  test("a new resource takes the owner its class gives; something that is not an owner is left for the schema to refuse", () => {
    expect(settleOwner(undefined, "proj/s/Bridge/br/fedcba9876543210")).toBe("proj/s/Bridge/br/fedcba9876543210");
    expect(settleOwner("x;y", "p/s/Bridge/a b")).toBe("p/s/Bridge/a b");
  });
});

describe("check", () => {
  test("keeps the state's owner", async () => {
    const first = (await check({}, flowSet("p/s/FlowSet/f/0123456789abcdef"))).inputs!;
    expect(first.owner).toBe("p/s/FlowSet/f/0123456789abcdef");
    expect((await check(first, flowSet("p/s/FlowSet/f/fedcba9876543210"))).inputs!.owner).toBe(first.owner);
  });

  test("the cookie is not an input: it follows from the owner", async () => {
    expect((await check({}, { ...flowSet("p/s/FlowSet/f/0123456789abcdef"), cookie: "1" })).failures).toEqual([{ property: "cookie", reason: "is not an input of this resource" }]);
    expect(cookieFor("p/s/FlowSet/f/0123456789abcdef")).not.toBe(cookieFor("p/s/FlowSet/f/fedcba9876543210"));
    expect(BigInt(cookieFor("p/s/FlowSet/f")) < 2n ** 60n).toBe(true);
  });

  test("preview with inputs not known yet keeps the state's owner", async () => {
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    const result = await check({ owner: "p/s/FlowSet/f/0123456789abcdef" }, { ...flowSet(unknown), bridge: unknown });
    expect(result.inputs?.owner).toBe("p/s/FlowSet/f/0123456789abcdef");
  });
});

test.each([
  ["0.1.0", "0.2.0", true],
  ["0.2.0", "0.2.0", false],
  ["0.10.0", "0.2.0", false],
  ["99.0.0-test", "0.2.0", false],
  ["0.1.9-rc.1", "0.2.0", true],
])("madeBefore(%s, %s) is %s", (version, since, before) => expect(madeBefore(version, since)).toBe(before));
