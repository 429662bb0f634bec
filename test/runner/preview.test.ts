// The preview renderer (runner/preview.ts) on recorded `pulumi preview --json`
// output (Pulumi 3.260.0, whitespace removed): virtio-relay-offload on a fresh
// state, every step a create, as a pull request's workflow sees it, with the
// project in /tmp/ool-pv/tree; and meter-offload against a state imported with
// a few differences (flows, a meter band, a port option, an MTU, a namespace's
// name, a port the program no longer has).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { expect, test } from "vitest";
import { previewErrors, renderPreview, type PreviewJson, type PreviewStep } from "../../runner/preview.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "../fixtures/preview", name), "utf8");
const CREATE = fixture("virtio-relay-offload-create.json");
const RECORDED_IN = "/tmp/ool-pv/tree";
const INSTANCE = "7a1371929575aac8";
const created = JSON.parse(CREATE) as PreviewJson;
const text = renderPreview(created, RECORDED_IN);

test("a fresh stack's preview: every create in URN order, with its inputs, one line per flow", () => {
  expect(text.split("\n").filter((l) => l && !l.startsWith(" "))).toEqual([
    "changes: create 14",
    "create command:local:Command host1-vm1",
    "create command:local:Command host2-vm2",
    "create Bridge host1-br0",
    "create Bridge host2-br0",
    "create FlowSet host1-flows",
    "create FlowSet host2-flows",
    "create Port host1-gre",
    "create Port host1-vm1-port",
    "create Port host2-gre",
    "create Port host2-vm2-port",
    "create StackInstance ovs-offload-lab-instance",
    "create VfBinding host1-vm1-vf",
    "create VfBinding host2-vm2-vf",
    "create pulumi:pulumi:Stack ovs-offload-lab-virtio-relay-offload",
  ]);
  const flowSet = text.slice(text.indexOf("create FlowSet host1-flows"), text.indexOf("create FlowSet host2-flows"));
  expect(flowSet).toContain(`    flows:
      - {"actions":"set_tunnel:4000,set_field:192.0.2.2->tun_dst,output:1","match":"in_port=41","priority":32768,"table":0}
      - {"actions":"output:41","match":"in_port=1,tun_src=192.0.2.2,tun_id=4000","priority":32768,"table":0}
`);
  expect(flowSet).toContain(`    owner: "ovs-offload-lab/virtio-relay-offload/FlowSet/host1-flows/<instance>"\n`);
  expect(text).toContain(`    dir: "<project>"\n`);
  // The serialised provider by its digest, not its code; nothing of the checkout or the random instance.
  expect(flowSet).toMatch(/^ {4}__provider: "sha256:[0-9a-f]{16}"$/m);
  for (const leak of ["exports.handler", RECORDED_IN, INSTANCE]) expect(text).not.toContain(leak);
});

test("the same plan gives the same text: any step order, another instance id, another checkout", () => {
  const elsewhere = "/home/runner/work/_temp/base-tree";
  const again = JSON.parse(CREATE.replaceAll(INSTANCE, "0123456789abcdef").replaceAll(RECORDED_IN, elsewhere)) as PreviewJson;
  expect(renderPreview(again, elsewhere)).toBe(text);
  const steps = created.steps as PreviewStep[];
  fc.assert(
    fc.property(fc.shuffledSubarray(steps, { minLength: steps.length }), (shuffled) => renderPreview({ ...created, steps: shuffled }, RECORDED_IN) === text),
    { numRuns: 50 },
  );
});

test("against a state: exactly the flows, bands and keys that change", () => {
  expect(renderPreview(JSON.parse(fixture("meter-offload-update.json")) as PreviewJson)).toBe(`changes: delete 1, replace 1, same 12, update 4
update FlowSet host1-flows
    flows:
      - {"actions":"set_tunnel:1000,set_field:192.0.2.2->tun_dst,output:1","match":"in_port=7","priority":32768,"table":0}
      - {"actions":"drop","match":"arp","priority":100,"table":0}
      + {"actions":"meter:7,set_tunnel:1000,set_field:192.0.2.2->tun_dst,output:1","match":"in_port=7","priority":32768,"table":0}
update Meter host1-meter7
    bands:
      - {"burstSize":50000,"rate":100000,"type":"drop"}
      + {"burstSize":50000,"rate":200000,"type":"drop"}
replace Netns host2-app2 (replaces on name)
    name: "ool-app9" → "ool-app2"
update NetnsLink host2-app2
    mtu: 1500 → 1450
delete Port host1-old-tap
update Port host2-gre
    options.remote_ip: "192.0.2.1" → "flow"
`);
});

test("secrets stay out: as Pulumi masks them, and as a secret value would arrive unmasked", () => {
  const secret = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "hunter2-plaintext" };
  const state = (inputs: Record<string, unknown>) => ({ type: "pulumi-nodejs:dynamic/ovs-offload-lab:Port", inputs });
  const urn = (name: string) => `urn:pulumi:s::p::pulumi-nodejs:dynamic/ovs-offload-lab:Port::${name}`;
  const out = renderPreview({
    steps: [
      { op: "create", urn: urn("a"), newState: state({ token: secret, key: "[secret]", nested: { pw: secret } }) },
      { op: "update", urn: urn("b"), oldState: state({ token: "[secret]", mtu: 1500 }), newState: state({ token: secret, mtu: 9000 }) },
      { op: "update", urn: urn("c"), oldState: state({ token: "[secret]" }), newState: state({ token: secret }) },
    ],
  });
  expect(out).not.toContain("hunter2");
  expect(out).toBe(`changes: none
create Port a
    key: [secret]
    nested: {"pw":[secret]}
    token: [secret]
update Port b
    mtu: 1500 → 9000
update Port c
    (no input shown changes: a secret does, or the object as the provider found it)
`);
});

test("lists: elements out and in as multisets; the same elements reordered said so", () => {
  const step = (old: unknown[], now: unknown[]): PreviewStep => ({
    op: "update", urn: "urn:pulumi:s::p::pulumi-nodejs:dynamic/ovs-offload-lab:Meter::m",
    oldState: { type: "Meter", inputs: { bands: old } }, newState: { type: "Meter", inputs: { bands: now } },
  });
  const [a, b, c] = [{ rate: 1 }, { rate: 2 }, { rate: 3 }];
  expect(renderPreview({ steps: [step([a, a, b], [a, c])] })).toBe(`changes: none
update Meter m
    bands:
      - {"rate":1}
      - {"rate":2}
      + {"rate":3}
`);
  expect(renderPreview({ steps: [step([a, b], [b, a])] })).toContain("    bands:\n      (the same elements, in another order)\n");
});

test("a failed preview's errors: the error diagnostics alone, named and without terminal colours", () => {
  expect(
    previewErrors({
      diagnostics: [
        { message: "(node:27064) ExperimentalWarning: SQLite is an experimental feature\n\n", severity: "info#err" },
        { message: "error: Running program failed:\nError: Cannot find module\n\x1b[90m    at resolve\x1b[39m\n", severity: "error" },
        { message: "ovs-offload-lab:variant: Invalid option\n", severity: "error", urn: "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s" },
        { message: "a warning", severity: "warning" },
      ],
    }),
  ).toEqual(["error: Running program failed:\nError: Cannot find module\n    at resolve", "p-s: ovs-offload-lab:variant: Invalid option"]);
});
