import { describe, expect, test } from "vitest";
import { labLayout } from "../../lab/layout.ts";

describe("lab layout", () => {
  const lab = labLayout("abcdefgh", 64);
  const names = lab.hosts.flatMap((h) => [h.underlayLink, h.fabricLink, ...h.vfs.flatMap((v) => [v.representor, v.netdev, v.parked])]);

  test("every interface name fits the kernel's 15 bytes, even for the longest lab name and 64 VFs", () => {
    expect(names.filter((n) => Buffer.byteLength(n) > 15)).toEqual([]);
  });

  test("VFs have distinct PCI addresses laid out eight functions a device", () => {
    const vfs = lab.hosts[0].vfs;
    expect(new Set(vfs.map((v) => v.pci)).size).toBe(64);
    expect([vfs[0].pci, vfs[7].pci, vfs[8].pci, vfs[21].pci]).toEqual(["0000:04:08.0", "0000:04:08.7", "0000:04:09.0", "0000:04:0a.5"]);
  });

  test.each(["", "Lab", "toolongname", "a-b", "1ab"])("rejects the lab name %j", (name) => {
    expect(() => labLayout(name)).toThrow(/lab name/);
  });
});
