// SR-IOV without a host: devlink's output (recorded: test/fixtures/devlink)
// parsed and its refusals said plainly; a VF's representor picked from
// phys_switch_id / phys_port_name listings (recorded: test/fixtures/sysfs,
// and the lab's in the lifecycle recordings); SriovPf's check, which refuses
// an eswitch mode on the lab before any host is touched; the stack config's
// representor override.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { eswitchMode, eswitchSetArgv, eswitchShowArgv, LAB_NO_DEVLINK, parseEswitchShow, setEswitchMode } from "../../provider/devlink.ts";
import { parsePortAttributes, pickRepresentor, portAttributesArgv } from "../../provider/representor.ts";
import { providers } from "../../provider/runtime.ts";
import { parseStackConfig, siteOf } from "../../stacks/config.ts";
import type { Recording } from "../fixtures/lifecycle/record.ts";
import { RecordingHost, type Recorded } from "../support/recording-host.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures");
interface Output extends Omit<Recorded, "exitCode"> {
  what: string;
  source: string;
  exitCode: number | null;
}
const devlink = (JSON.parse(readFileSync(join(FIXTURES, "devlink/recorded.json"), "utf8")) as { outputs: Output[] }).outputs;
const output = (what: RegExp) => devlink.find((o) => what.test(o.what))!;
const host = { kind: "netns", netns: "ool-host1" } as const;

describe("devlink", () => {
  test("the commands: JSON show, and set with the mode", () => {
    expect(eswitchShowArgv("0000:04:00.0")).toEqual(["devlink", "-j", "dev", "eswitch", "show", "pci/0000:04:00.0"]);
    expect(eswitchSetArgv("0000:04:00.0", "switchdev")).toEqual(["devlink", "dev", "eswitch", "set", "pci/0000:04:00.0", "mode", "switchdev"]);
  });

  test("eswitch show -j, recorded: the mode of a PF in switchdev mode, none for a device that reports none", () => {
    expect(parseEswitchShow(output(/switchdev mode/).stdout, "0000:03:00.0")).toEqual({ mode: "switchdev", inlineMode: undefined, encapMode: undefined });
    expect(parseEswitchShow(output(/reports no mode/).stdout, "0000:03:00.0")).toEqual({ mode: undefined, inlineMode: undefined, encapMode: undefined });
    expect(() => parseEswitchShow("{}", "0000:03:00.0")).toThrow(/no "dev" object/);
  });

  test.each([/kernel without devlink/, /i40e/])("%s: devlink's refusal becomes 'devlink: not available on <host>', with devlink's own words", async (what) => {
    const o = output(what);
    const replay = new RecordingHost([{ ...o, argv: eswitchShowArgv(o.argv.at(-1)!.slice(4)), exitCode: o.exitCode as number }]);
    await expect(replay.run(() => eswitchMode(host, o.argv.at(-1)!.slice(4)))).rejects.toThrow(
      new RegExp(`^devlink: not available on netns ool-host1 for ${o.argv.at(-1)} \\(${o.stderr.trim()}\\): is the NIC's driver loaded`),
    );
  });

  test("a set refused the same way is said the same way; any other failure keeps devlink's message", async () => {
    const o = output(/set, a kernel without devlink/);
    await expect(new RecordingHost([o as Recorded]).run(() => setEswitchMode(host, "0000:04:00.0", "switchdev"))).rejects.toThrow(/^devlink: not available on netns ool-host1/);
    // Constructed, not recorded: a message of any other kind passes through as the command's failure.
    const other = { argv: o.argv, stdout: "", stderr: "some other refusal\n", exitCode: 1 };
    await expect(new RecordingHost([other]).run(() => setEswitchMode(host, "0000:04:00.0", "switchdev"))).rejects.toThrow(/`devlink dev eswitch set pci\/0000:04:00\.0 mode switchdev` exited 1: some other refusal$/);
  });
});

describe("finding a VF's representor", () => {
  const listings = (JSON.parse(readFileSync(join(FIXTURES, "sysfs/phys-port-attributes.json"), "utf8")) as { listings: { stdout: string }[] }).listings;
  const mlx5 = parsePortAttributes(listings[0].stdout);

  test("the command: every netdev's two attributes in one find, a netdev without them skipped", () => {
    expect(portAttributesArgv("/sys/class/net")).toEqual([
      "find", "-L", "/sys/class/net", "-mindepth", "2", "-maxdepth", "2", "(", "-name", "phys_switch_id", "-o", "-name", "phys_port_name", ")", "-exec", "grep", "-H", "-s", "", "{}", ";",
    ]);
  });

  test("a ConnectX PF's listing (recorded): uplink p0 and pf0vf<N> on one switch id; names are udev's, not guessed", () => {
    expect(Object.fromEntries(mlx5)).toEqual({
      mlx_p0: { portName: "p0", switchId: "34ebc100034b6b50" },
      mlx_pf0vf0: { portName: "pf0vf0", switchId: "34ebc100034b6b50" },
      mlx_pf0vf1: { portName: "pf0vf1", switchId: "34ebc100034b6b50" },
    });
    expect(pickRepresentor(mlx5, ["mlx_p0"], 1, 0)).toEqual({ name: "mlx_pf0vf1" });
    expect(pickRepresentor(mlx5, ["mlx_p0"], 0, 0)).toEqual({ name: "mlx_pf0vf0" });
    expect(pickRepresentor(mlx5, ["mlx_p0"], 2, 0)).toEqual({ why: expect.stringMatching(/no netdev on the PF's eswitch \(phys_switch_id 34ebc100034b6b50\) has a phys_port_name for VF 2/) });
  });

  test("a PF whose netdevs have no switch id (legacy mode, or a driver without switchdev) says so", () => {
    expect(pickRepresentor(mlx5, ["enp3s0f0"], 1, 0)).toEqual({ why: expect.stringMatching(/no netdev of the PF \(enp3s0f0\) has a phys_switch_id: is its eswitch in switchdev mode/) });
    expect(pickRepresentor(mlx5, [], 1, 0)).toEqual({ why: expect.stringMatching(/\(none\)/) });
  });

  test("the lab's emulated NIC (recorded in the lifecycle fixtures): uplink ul0, representors sdn_v0.<n> named pf0vf<n>", () => {
    const recording = JSON.parse(readFileSync(join(FIXTURES, "lifecycle/vf-binding-resumed.json"), "utf8")) as Recording;
    const listing = recording.commands.find((c) => c.argv.includes("phys_port_name"))!;
    const lab = parsePortAttributes(listing.stdout);
    expect(lab.get("ul0")?.portName).toBe("p0");
    expect(pickRepresentor(lab, ["ul0"], 1, 0)).toEqual({ name: "sdn_v0.1" });
  });

  test("where PFs share an eswitch (pf0vf1 and pf1vf1 on one switch id), the PF's PCI function decides; other forms of the name count too", () => {
    // Constructed, not recorded: the selection rule on a switch shared by two PFs.
    const shared = new Map([
      ["p0", { switchId: "aa", portName: "p0" }],
      ["rep0", { switchId: "aa", portName: "pf0vf1" }],
      ["rep1", { switchId: "aa", portName: "pf1vf1" }],
      ["rep2", { switchId: "aa", portName: "c1pf0vf2" }],
      ["rep3", { switchId: "aa", portName: "pf0vfr3" }],
      ["other", { switchId: "bb", portName: "pf0vf4" }],
    ]);
    expect(pickRepresentor(shared, ["p0"], 1, 1)).toEqual({ name: "rep1" });
    expect(pickRepresentor(shared, ["p0"], 2, 0)).toEqual({ name: "rep2" });
    expect(pickRepresentor(shared, ["p0"], 3, 0)).toEqual({ name: "rep3" });
    expect(pickRepresentor(shared, ["p0"], 4, 0)).toEqual({ why: expect.stringMatching(/for VF 4/) });
    expect(pickRepresentor(new Map([...shared, ["rep9", { switchId: "aa", portName: "pf0vf1" }]]), ["p0"], 1, 0)).toEqual({ why: "several netdevs could be VF 1's: rep0, rep9" });
  });
});

describe("SriovPf check", () => {
  const check = (args: Record<string, unknown>) =>
    providers.SriovPf.check({}, { host, pciAddress: "0000:04:00.0", owner: "p/s/SriovPf/pf/0123456789abcdef", providerVersion: "0.2.0", ...args });

  test("an eswitch mode on the lab is refused before any host is touched: its NIC has no devlink device", async () => {
    expect(await check({ numVfs: 4, eswitchMode: "switchdev", sysfsRoot: "/run/ovs-offload-lab/ool/host1/sys" })).toEqual({
      failures: [{ property: "eswitchMode", reason: `${LAB_NO_DEVLINK}; leave eswitchMode out there` }],
    });
    expect((await check({ numVfs: 4, sysfsRoot: "/run/ovs-offload-lab/ool/host1/sys" })).failures).toBeUndefined();
    expect((await check({ numVfs: 4, eswitchMode: "switchdev" })).inputs).toMatchObject({ sysfsRoot: "/sys", eswitchMode: "switchdev" });
  });
});

describe("the stack config's VFs", () => {
  const rack = (vfs: unknown) => ({ host: { kind: "ssh", address: "192.0.2.10", user: "root" }, underlayIp: "192.0.2.10", vfs });
  const parse = (vfs: unknown) => parseStackConfig({ scenario: "meter", variant: "offload", hosts: { host1: rack(vfs), host2: rack({}) } }, "ovs-offload-lab");

  test("a VF is its PCI address, or that and its representor's name; without one, the VfBinding finds it", () => {
    const site = siteOf(parse({ "0": "0000:81:08.0", "1": { pciAddress: "0000:81:08.1", representor: "eth5" } }));
    expect([site.hosts.host1?.vfPci(0), site.hosts.host1?.representor(0)]).toEqual(["0000:81:08.0", undefined]);
    expect([site.hosts.host1?.vfPci(1), site.hosts.host1?.representor(1)]).toEqual(["0000:81:08.1", "eth5"]);
    expect(siteOf(parseStackConfig({ scenario: "meter", variant: "offload" }, "ovs-offload-lab")).hosts.host1?.representor(0)).toBeUndefined();
  });

  test("a bad representor or address is named at its key", () => {
    expect(() => parse({ "0": { pciAddress: "0000:81:08.0", representor: "help" } })).toThrow(/ovs-offload-lab:hosts\.host1\.vfs\.0\.representor: must not be an ip\(8\) keyword/);
    expect(() => parse({ "0": "0000:81:8.0" })).toThrow(/ovs-offload-lab:hosts\.host1\.vfs\.0\.pciAddress: must be a PCI address/);
    expect(() => parse({ "0": { pci: "0000:81:08.0" } })).toThrow(/hosts\.host1\.vfs\.0\.pci: not a key of this project/);
  });
});
