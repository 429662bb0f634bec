// VfBinding on the lab's emulated SmartNIC, through the real engine.
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exec, waitFor } from "../../provider/host.ts";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { boundDriver, pciBus } from "../../lab/sysfs.ts";
import { testLabName } from "../support/machine.ts";
import { testStack, type TestStack } from "../support/stack.ts";

const lab = labLayout(testLabName(), 3);
const h = lab.hosts[0];
const [vf0, vf1] = h.vfs;
const hasLink = (name: string) => exec(h.spec, ["ip", "link", "show", "dev", name]).then(() => true, () => false);
const binding = (name: string, pci: string, driver: string) => ({ kind: "VfBinding", name, args: { host: h.spec, pciAddress: pci, driver, sysfsRoot: h.sysfs } });

describe("VfBinding", () => {
  let s: TestStack;
  beforeAll(async () => {
    await labUp(lab, () => {});
    s = await testStack("resources");
  });
  afterAll(async () => {
    await s?.dispose();
    await labDown(lab, () => {});
  });

  test("binding to nfp_netvf makes the VF netdev, given as an output; a second up changes nothing", async () => {
    const up = await s.up([binding("vf0", vf0.pci, "nfp_netvf")]);
    expect(up.outputs.vf0.value).toMatchObject({ driver: "nfp_netvf", originalDriver: "", netdev: "netvf0" });
    expect(await hasLink("netvf0")).toBe(true);
    expect((await s.up([binding("vf0", vf0.pci, "nfp_netvf")])).summary.resourceChanges).toEqual({ same: 3 });
  });

  test("a new driver rebinds in place: nfp_uio parks the VF", async () => {
    const up = await s.up([binding("vf0", vf0.pci, "nfp_uio")]);
    expect(up.summary.resourceChanges).toEqual({ same: 2, update: 1 });
    expect(up.outputs.vf0.value).toMatchObject({ driver: "nfp_uio", netdev: "" });
    expect(await hasLink("netvf0")).toBe(false);
  });

  test("a VF rebound by hand is drift: refresh finds it, up binds it back", async () => {
    await writeFile(join(pciBus(h), "drivers", "nfp_uio", "unbind"), `${vf0.pci}\n`);
    expect(await waitFor(async () => (await boundDriver(h, vf0)) === undefined, 10_000)).toBe(true);
    await s.refresh();
    expect((await s.preview([binding("vf0", vf0.pci, "nfp_uio")])).changeSummary).toEqual({ same: 2, update: 1 });
    await s.up([binding("vf0", vf0.pci, "nfp_uio")]);
    expect(await boundDriver(h, vf0)).toBe("nfp_uio");
  });

  test("destroy gives each VF back to the driver it had", async () => {
    await writeFile(join(pciBus(h), "drivers", "vfio-pci", "bind"), `${vf1.pci}\n`);
    expect(await waitFor(async () => (await boundDriver(h, vf1)) === "vfio-pci", 10_000)).toBe(true);
    const up = await s.up([binding("vf0", vf0.pci, "nfp_uio"), binding("vf1", vf1.pci, "nfp_netvf")]);
    expect(up.outputs.vf1.value).toMatchObject({ originalDriver: "vfio-pci", netdev: "netvf1" });
    await s.destroy();
    expect(await boundDriver(h, vf0)).toBeUndefined();
    expect(await boundDriver(h, vf1)).toBe("vfio-pci");
    expect(await hasLink("netvf1")).toBe(false);
    // Their records on the host went with them.
    expect(existsSync(join(h.dir, "vf-binding"))).toBe(false);
  });

  test("a bind that fails puts the VF back on the driver it had, and leaves no record on the host", async () => {
    expect(await boundDriver(h, vf1)).toBe("vfio-pci");
    await expect(s.up([binding("vf1", vf1.pci, "nfp_nope")])).rejects.toThrow(/drivers\/nfp_nope\/bind: No such file or directory; 0000:04:08\.1 is back on vfio-pci/);
    expect(await boundDriver(h, vf1)).toBe("vfio-pci");
    expect(existsSync(join(h.dir, "vf-binding"))).toBe(false);
    await s.destroy();
  });

  test("a PCI address that is not there fails with what to check", async () => {
    await expect(s.up([binding("vf9", "0000:04:0f.7", "nfp_netvf")])).rejects.toThrow(/no PCI device 0000:04:0f\.7 .* is SR-IOV enabled/);
  });
});
