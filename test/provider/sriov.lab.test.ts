// SR-IOV on the lab's emulated NIC, through the real engine: SriovPf's VF
// count (create, update through 0, drift, delete giving the count back), the
// eswitch mode refused there plainly; a VfBinding's representor found in
// sysfs or named; and a stack made when representors were named sdn_v0.<n>
// by the program keeping its ports.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { eswitchMode } from "../../provider/devlink.ts";
import { exec, waitFor } from "../../provider/host.ts";
import { labLayout } from "../../lab/layout.ts";
import { pciBus } from "../../lab/sysfs.ts";
import { testLabName } from "../support/machine.ts";
import { linkProvider, testStack, useLabStack, type TestStack } from "../support/stack.ts";

const REPO = join(import.meta.dirname, "../..");
const lab = labLayout(testLabName(), 4);
const h = lab.hosts[0];
const pfDir = join(pciBus(h), "devices", h.pf.pci);
const numVfs = async () => (await readFile(join(pfDir, "sriov_numvfs"), "utf8")).trim();
const hasLink = (name: string) => exec(h.spec, ["ip", "link", "show", "dev", name]).then(() => true, () => false);
const pf = (count: number, more: Record<string, unknown> = {}) => ({ kind: "SriovPf", name: "pf", args: { host: h.spec, pciAddress: h.pf.pci, sysfsRoot: h.sysfs, numVfs: count, ...more } });
const vf = (index: number, more: Record<string, unknown> = {}) => ({
  kind: "VfBinding", name: `vf${index}`, dependsOn: ["pf"], args: { host: h.spec, pciAddress: h.vfs[index].pci, driver: "nfp_netvf", sysfsRoot: h.sysfs, ...more },
});

describe("SriovPf and representors on the emulated NIC", () => {
  const ctx = useLabStack(lab, h.spec);

  test("create: 4 VFs become 2, the others' devices and representors gone; a second up changes nothing", async () => {
    const up = await ctx.s.up([pf(2)]);
    expect(up.outputs.pf.value).toMatchObject({ numVfs: 2, totalVfs: 4, vfs: [h.vfs[0].pci, h.vfs[1].pci], originalNumVfs: 4, originalEswitchMode: "" });
    expect(await numVfs()).toBe("2");
    expect([await hasLink("sdn_v0.1"), await hasLink("sdn_v0.2"), existsSync(join(pciBus(h), "devices", h.vfs[2].pci))]).toEqual([true, false, false]);
    expect((await ctx.s.up([pf(2)])).summary.resourceChanges).toEqual({ same: 3 });
  });

  test("update: 2 -> 3 in place (through 0, as the kernel wants); a count changed by hand is drift, set back by up", async () => {
    expect((await ctx.s.up([pf(3)])).summary.resourceChanges).toEqual({ same: 2, update: 1 });
    expect([await numVfs(), await hasLink("sdn_v0.2")]).toEqual(["3", true]);
    // By hand, as the kernel allows: a non-zero count straight to another is refused (EBUSY), through 0 it is taken.
    const write = (count: number) => writeFile(join(pfDir, "sriov_numvfs"), `${count}\n`, { flag: "a" });
    await write(1);
    const log = join(lab.dir, "sysfs-emulator.log");
    expect(await waitFor(async () => (await readFile(log, "utf8")).includes("3 VFs already enabled. Disable before enabling 1 VFs (EBUSY)"), 10_000)).toBe(true);
    expect(await numVfs()).toBe("3");
    await write(0);
    expect(await waitFor(async () => !existsSync(join(pfDir, "virtfn0")), 10_000)).toBe(true);
    await write(1);
    expect(await waitFor(async () => existsSync(join(pfDir, "virtfn0")), 10_000)).toBe(true);
    await ctx.s.refresh();
    expect((await ctx.s.preview([pf(3)])).changeSummary).toEqual({ same: 2, update: 1 });
    await ctx.s.up([pf(3)]);
    expect(await numVfs()).toBe("3");
  });

  test("a VfBinding finds its VF's representor in sysfs (pf0vf1 on the PF's eswitch: sdn_v0.1), or takes the name given", async () => {
    const up = await ctx.s.up([pf(3), vf(1)]);
    expect(up.outputs.vf1.value).toMatchObject({ representor: "sdn_v0.1", netdev: "netvf1" });
    const named = await ctx.s.up([pf(3), vf(1, { representorName: "rep1" })]);
    expect(named.summary.resourceChanges).toEqual({ same: 3, update: 1 });
    expect(named.outputs.vf1.value).toMatchObject({ representor: "rep1", driver: "nfp_netvf" });
  });

  test("the count cannot change under a bound VF: refused, naming the binding", async () => {
    await expect(ctx.s.up([pf(2), vf(1, { representorName: "rep1" })])).rejects.toThrow(/changing PF 0000:04:00\.0 on netns \S+ removes every VF, and VfBindings hold 0000:04:08\.1 \(resources-check\/test\/VfBinding\/vf1\//);
    expect([await numVfs(), await hasLink("netvf1")]).toEqual(["3", true]);
  });

  test("destroy gives the PF back its 4 VFs with their representors, and leaves no record", async () => {
    await ctx.s.destroy();
    expect(await numVfs()).toBe("4");
    expect([await hasLink("sdn_v0.3"), await hasLink("netvf1"), existsSync(join(h.sysfs, "class", "net", "sdn_v0.3", "phys_port_name"))]).toEqual([true, false, true]);
    expect([existsSync(join(h.dir, "sriov-pf")), existsSync(join(h.dir, "vf-binding"))]).toEqual([false, false]);
  });

  test("an eswitch mode on the lab fails the preview: devlink is not available there, and nothing is faked", async () => {
    await expect(ctx.s.preview([pf(4, { eswitchMode: "switchdev" })])).rejects.toThrow(/devlink: not available on this host \(lab: no SmartNIC\)/);
    // The real devlink of this machine, asked about a PCI device it has: no devlink device here either, in devlink's words.
    await expect(eswitchMode({ kind: "local" }, "0000:00:00.0")).rejects.toThrow(/^devlink: not available on localhost for pci\/0000:00:00\.0 \((Failed to connect to devlink Netlink|devlink answers: [^)]+)\)/);
  });

  /** The last commit whose provider is 0.2.0: representors named sdn_v0.<n> by the program. */
  const PROVIDER_0_2_0 = "048de0b";

  describe("a stack made when the program named representors sdn_v0.<n>", () => {
    let root: string;
    let before: string;
    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), "ool-representor-"));
      // provider/ as committed before representors were found (0.2.0).
      before = join(root, "provider-before");
      await mkdir(before);
      await new Promise<void>((resolve, reject) => {
        const archive = execFile("git", ["-C", REPO, "archive", PROVIDER_0_2_0, "provider"], { encoding: "buffer", maxBuffer: 64 << 20 }, (err) => err && reject(err));
        const untar = execFile("tar", ["-x", "--strip-components=1", "-C", before], (err) => (err ? reject(err) : resolve()));
        archive.stdout!.pipe(untar.stdin!);
      });
      await symlink(join(REPO, "node_modules"), join(root, "node_modules"));
    });
    afterAll(() => rm(root, { recursive: true, force: true }));

    const bridge = { kind: "Bridge", name: "br", args: { host: h.spec, name: "br0", datapathType: "netdev" } };
    const binding = { kind: "VfBinding", name: "vf0", args: { host: h.spec, pciAddress: h.vfs[0].pci, driver: "nfp_netvf", sysfsRoot: h.sysfs } };
    const port = (name: unknown) => ({ kind: "Port", name: "rep", dependsOn: ["br"], args: { host: h.spec, bridge: "br0", name, ofportRequest: 7 } });
    /** Made by the provider before, with the literal name; then the provider now, the name from the binding. */
    async function madeBefore(): Promise<TestStack> {
      const old = await testStack("resources", { provider: before });
      expect((await old.up([bridge, binding, port("sdn_v0.0")])).summary.resourceChanges).toEqual({ create: 5 });
      await linkProvider(old.dir, join(REPO, "provider"));
      return old;
    }
    const now = [bridge, binding, port({ ref: "vf0", output: "representor" })];

    test("refresh records the representor found (sdn_v0.0); preview and up then show every resource the same", async () => {
      const old = await madeBefore();
      try {
        await old.refresh();
        expect((await old.preview(now)).changeSummary).toEqual({ same: 5 });
        const up = await old.up(now);
        expect(up.summary.resourceChanges).toEqual({ same: 5 });
        expect(up.outputs.rep.value).toMatchObject({ name: "sdn_v0.0", ofport: 7 });
      } finally {
        await old.dispose();
      }
    });

    test("a plain up finds it in an update of the binding and keeps the port (its preview cannot know the name yet)", async () => {
      const old = await madeBefore();
      try {
        // The name is found during the up, so the plan shows the Port replaced; the up replaces nothing.
        expect((await old.preview(now)).changeSummary).toEqual({ same: 3, update: 1, replace: 1 });
        const up = await old.up(now);
        expect(up.summary.resourceChanges).toEqual({ same: 4, update: 1 });
        expect(up.outputs.vf0.value).toMatchObject({ representor: "sdn_v0.0" });
        expect((await old.preview(now)).changeSummary).toEqual({ same: 5 });
      } finally {
        await old.dispose();
      }
    });
  });
});
