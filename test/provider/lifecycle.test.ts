// Each kind's lifecycle logic without OVS and without root: the cases of
// test/fixtures/lifecycle/cases.ts replayed against the answers real OVS and
// the lab's sysfs gave (recorded by record.ts there). The replay checks every
// command's exact argument vector, in order, and each step's outcome; the
// tests below say what each case proves.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { createBridgeArgv } from "../../provider/bridge.ts";
import { createPortArgv, deletePortArgv, readPortArgv } from "../../provider/port.ts";
import { kind, LIFECYCLE_CASES, type Outcome } from "../fixtures/lifecycle/cases.ts";
import type { Recording } from "../fixtures/lifecycle/record.ts";
import { RecordingHost } from "../support/recording-host.ts";

/** Replays a case: its commands (argv checked) and its outcomes, with the commands it ran. */
async function replay(name: string): Promise<{ calls: string[][]; stdins: (string | undefined)[]; outcomes: Outcome[] }> {
  const c = LIFECYCLE_CASES.find((x) => x.name === name)!;
  const recording = JSON.parse(readFileSync(join(import.meta.dirname, "../fixtures/lifecycle", `${name}.json`), "utf8")) as Recording;
  const host = new RecordingHost(recording.commands);
  const outcomes = await host.run(() => c.steps());
  // Outcomes as plain data, as the recording keeps them.
  expect(JSON.parse(JSON.stringify(outcomes))).toEqual(recording.outcomes);
  return { calls: host.calls, stdins: recording.commands.map((r) => r.stdin), outcomes };
}

const verbs = (calls: string[][]) => calls.map((argv) => argv.find((a) => /^(find|list|add-br|set|clear|del-br|add-port|del-port|dump-meters|add-meter|mod-meter|del-meter|remove|parse-flows|dump-flows|add-flows|del-flows|test|readlink|tee|ls|sh)$/.test(a)) ?? argv[0]);

test.each(LIFECYCLE_CASES.map((c) => c.name))("%s replays exactly as recorded", async (name) => {
  await replay(name);
});

describe("what the cases prove", () => {
  test("OvsConfig: each step is one read and one transaction; a dropped key, and delete, put back the value it had or remove it", async () => {
    const { calls, outcomes } = await replay("ovsconfig-lifecycle");
    expect(verbs(calls)).toEqual(["list", "set", "list", "set", "list", "list", "remove"]);
    const owner = "lab/rec/OvsConfig/oc/0123456789abcdef";
    // Create: our marks, the value max-idle had, and the keys, together.
    expect(calls[1].slice(calls[1].indexOf("set"))).toEqual([
      "set", "Open_vSwitch", ".",
      `external_ids:ovs-offload-lab.other_config.hw-offload="${owner}"`, `external_ids:ovs-offload-lab.other_config.max-idle="${owner}"`, 'external_ids:ovs-offload-lab.other_config.max-idle.was="12345"',
      'other_config:hw-offload="true"', 'other_config:max-idle="30000"',
    ]);
    // Update: max-idle back to 12345 and its marks gone, in the same transaction as tc-policy.
    expect(calls[3].join(" ")).toContain('-- set Open_vSwitch . other_config:max-idle="12345" -- remove Open_vSwitch . external_ids ovs-offload-lab.other_config.max-idle ovs-offload-lab.other_config.max-idle.was -- set Open_vSwitch .');
    expect((outcomes[1] as { restartNeeded: string[] }).restartNeeded).toEqual(["tc-policy"]);
    // Delete: the keys that had no value are removed.
    expect(calls.at(-1)!.join(" ")).toContain("-- remove Open_vSwitch . other_config hw-offload tc-policy --");
  });

  test("Bridge: one transaction per step; taking fail_mode out of the inputs clears it; after delete, read reports it gone", async () => {
    const { calls, outcomes } = await replay("bridge-lifecycle");
    expect(calls[1]).toEqual(createBridgeArgv(outcomes[0] as Parameters<typeof createBridgeArgv>[0]));
    expect(calls[3].join(" ")).toContain("-- clear Bridge lcbr fail_mode");
    expect((outcomes[3] as { failMode?: string }).failMode).toBeUndefined();
    expect(outcomes[4]).toEqual({ id: "" });
  });

  test("Bridge: one that is not ours is refused by create and left alone by delete: only reads run", async () => {
    const { calls, outcomes } = await replay("bridge-foreign");
    expect(outcomes[0]).toEqual({ error: expect.stringMatching(/bridge lcfb already exists on netns rec-host1 and is not made by ovs-offload-lab/) });
    expect(verbs(calls)).toEqual(["find", "find"]);
  });

  test("Port: an interface OVS cannot set up fails the create with OVS's reason, and the port is taken out again", async () => {
    const { calls, outcomes } = await replay("port-error");
    const { inputs } = await kind("Port", "nope0", { bridge: "lcpb", name: "nope0" });
    const port = inputs as Parameters<typeof createPortArgv>[0];
    expect(calls).toEqual([readPortArgv(port), createPortArgv(port), readPortArgv(port), deletePortArgv(port)]);
    expect(outcomes[0]).toEqual({ error: expect.stringContaining("could not open network device nope0 (No such device)") });
  });

  test("Meter: the mark before the meter; a band change is mod-meter (never del-meter, which would take the flows); delete removes only our mark", async () => {
    const { calls } = await replay("meter-lifecycle");
    expect(verbs(calls)).toEqual(["dump-meters", "find", "set", "add-meter", "mod-meter", "dump-meters", "find", "find", "del-meter", "remove"]);
    expect(calls.at(-1)!.at(-1)).toBe("ovs-offload-lab.meter.7=lab/rec/Meter/m7/0123456789abcdef");
  });

  test("Meter: a meter of the same id made by hand is refused and not touched", async () => {
    const { calls, outcomes } = await replay("meter-foreign");
    expect(outcomes[0]).toEqual({ error: expect.stringMatching(/meter 7 already exists on bridge lcmf .* not made by ovs-offload-lab/) });
    expect(verbs(calls)).toEqual(["dump-meters", "find", "find"]);
  });

  test("FlowSet: a change costs what changed: a changed flow is one parse-flows and one flow-mod; a new one also one look where it goes; delete is by cookie", async () => {
    const { calls, stdins, outcomes } = await replay("flowset-lifecycle");
    const bundles = calls.flatMap((argv, i) => (argv.includes("--bundle") ? [stdins[i]!.trim().split("\n")] : []));
    expect(bundles.map((b) => b.length)).toEqual([2, 1, 1]);
    // Create: canonical forms, one look at the bridge, the bundle.
    expect(verbs(calls.slice(0, 3))).toEqual(["parse-flows", "dump-flows", "add-flows"]);
    // Changing one flow of two: two round trips, neither reads the bridge.
    expect(verbs(calls.slice(3, 5))).toEqual(["parse-flows", "add-flows"]);
    expect(stdins[3]!.trim().split("\n")).toHaveLength(2); // the flow as it was and as it is: nothing else
    expect(bundles[1][0]).toMatch(/^modify_strict .*priority=100,in_port=2 actions=drop$/);
    // Adding one: the bridge is read only where the new flow goes.
    expect(calls[6].slice(-2)).toEqual(["lcfs", "table=0,in_port=3"]);
    expect(bundles[2][0]).toMatch(/^add .*priority=100,in_port=3 actions=output:1$/);
    // Another owner's flow where one would go: refused before the bundle.
    expect(outcomes[3]).toEqual({ error: expect.stringMatching(/already has flows of another owner .*cookie=0x99 table=0,priority=100,in_port=4/) });
    expect(verbs(calls.slice(8, 10))).toEqual(["parse-flows", "dump-flows"]);
    // The digest kept up change by change is the one a full read gives.
    const [, , grown, , read] = outcomes as Record<string, unknown>[];
    expect(read.installedDigest).toBe(grown.appliedDigest);
    expect(read.installedCount).toBe(3);
    expect(calls.at(-1)).toEqual(["ovs-ofctl", "--timeout=20", "-O", "OpenFlow14", "del-flows", "lcfs", "cookie=0x2f1dc1bad640e1a/-1"]);
  });

  test("VfBinding: the record goes on the host before the bind; a bind that fails puts the VF back and removes the record", async () => {
    const { calls, outcomes } = await replay("vf-binding-fails");
    const record = "/run/ovs-offload-lab/rec/host1/vf-binding/0000:04:08.0";
    const at = (argv: string[]) => calls.findIndex((c) => c.join(" ") === argv.join(" "));
    // Written whole (a new file renamed into place) before the first sysfs write.
    expect(at(["mv", "-f", `${record}.new`, record])).toBeLessThan(calls.findIndex((c) => c[0] === "tee" && c.at(-1)!.includes("/sys/")));
    expect(calls.slice(-2)).toEqual([["rm", "-f", record], ["rmdir", "--ignore-fail-on-non-empty", "/run/ovs-offload-lab/rec/host1/vf-binding"]]);
    expect(outcomes[0]).toEqual({ error: expect.stringMatching(/nfp_nope\/bind: No such file or directory; 0000:04:08\.0 is back on no driver$/) });
  });

  test("VfBinding: a create cut short after its bind is finished from the record: the original driver is the recorded one, and delete restores it", async () => {
    const { calls, outcomes } = await replay("vf-binding-resumed");
    expect((outcomes[0] as { originalDriver: string }).originalDriver).toBe("nfp_netvf");
    // No new record over the old one, and the bind back is to the recorded driver.
    expect(calls.filter((argv) => argv[0] === "mv")).toEqual([]);
    expect(calls.some((argv) => argv[0] === "tee" && argv[2].endsWith("drivers/nfp_netvf/bind"))).toBe(true);
  });

  test("VfBinding: a VF another stack's binding holds is refused, read as gone and left alone by delete: no sysfs write", async () => {
    const { calls, outcomes } = await replay("vf-binding-foreign");
    expect(outcomes[0]).toEqual({ error: expect.stringMatching(/VF 0000:04:08\.0 .* owned by lab\/rec\/VfBinding\/theirs\//) });
    expect(outcomes[1]).toEqual({ id: "" });
    expect(calls.filter((argv) => argv[0] !== "test" && argv[0] !== "cat")).toEqual([]);
  });

  test("VfBinding: the representor is found in sysfs before the bind: physfn, the PF's virtfn links, phys_switch_id and phys_port_name", async () => {
    const { calls, outcomes } = await replay("vf-binding-resumed");
    expect((outcomes[0] as { representor: string }).representor).toBe("sdn_v0.0");
    const found = calls.findIndex((argv) => argv[0] === "find" && argv.includes("phys_port_name"));
    expect(calls[found - 2]).toEqual(["readlink", "/run/ovs-offload-lab/rec/host1/sys/bus/pci/devices/0000:04:08.0/physfn"]);
    expect(found).toBeLessThan(calls.findIndex((argv) => argv[0] === "tee" && argv[1] === "-a"));
  });

  test("SriovPf: the record before the first write; 2 -> 1 VFs through 0, 1 -> 0; delete gives back the 2 it found and removes the record", async () => {
    const { calls, stdins, outcomes } = await replay("sriov-pf-lifecycle");
    const numvfs = "/run/ovs-offload-lab/rec/host1/sys/bus/pci/devices/0000:04:00.0/sriov_numvfs";
    const writes = calls.flatMap((argv, i) => (argv.join(" ") === `tee -a ${numvfs}` ? [stdins[i]!.trim()] : []));
    expect(writes).toEqual(["0", "1", "0", "2"]);
    expect(calls.findIndex((argv) => argv[0] === "mv")).toBeLessThan(calls.findIndex((argv) => argv[0] === "tee" && argv[1] === "-a"));
    expect(outcomes[0]).toMatchObject({ numVfs: 1, totalVfs: 2, vfs: ["0000:04:08.0"], originalNumVfs: 2, originalEswitchMode: "" });
    expect(outcomes[2]).toMatchObject({ numVfs: 0, vfs: [] });
    expect(calls.slice(-2).map((argv) => argv[0])).toEqual(["rm", "rmdir"]);
    // The lab has no devlink: with no eswitchMode, none is asked.
    expect(calls.filter((argv) => argv[0] === "devlink")).toEqual([]);
  });

  test("SriovPf: a count that would take away a VF another stack's VfBinding holds is refused, naming it; nothing written and no record left", async () => {
    const { calls, outcomes } = await replay("sriov-pf-held");
    expect(outcomes[0]).toEqual({ error: expect.stringMatching(/removes every VF, and VfBindings hold 0000:04:08\.0 \(lab\/rec\/VfBinding\/theirs\/0123456789abcdef\): remove those bindings first/) });
    expect(calls.filter((argv) => argv[0] === "tee" && argv[1] === "-a")).toEqual([]);
    expect(calls.slice(-2).map((argv) => argv[0])).toEqual(["rm", "rmdir"]);
  });

  test("SriovPf: a PF another stack's SriovPf holds is refused, read as gone and left alone by delete", async () => {
    const { calls, outcomes } = await replay("sriov-pf-foreign");
    expect(outcomes[0]).toEqual({ error: expect.stringMatching(/PF 0000:04:00\.0 .* owned by lab\/rec\/SriovPf\/theirs\//) });
    expect(outcomes[1]).toEqual({ id: "" });
    expect(calls.filter((argv) => argv[0] !== "grep" && argv[0] !== "cat")).toEqual([]);
  });
});
