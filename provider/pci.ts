// PCI devices through sysfs. Driver binding the way dpdk-devbind does it:
// driver_override, unbind from the current driver, bind to the new one, clear
// the override. SR-IOV as the kernel's PCI core offers it: a PF's
// sriov_numvfs and sriov_totalvfs, its virtfn<N> links, a VF's physfn. Files
// are read and written on the host (readlink, ls, find, tee), so the same code
// works on a real /sys, over SSH, and on the lab's emulated tree.
import { posix } from "node:path";
import { exec, hostLabel, ignoring, waitFor, type HostSpec } from "./host.ts";

export interface PciDevice {
  host: HostSpec;
  /** sysfs mount point: /sys on a real host. */
  sysfsRoot: string;
  /** e.g. 0000:04:08.0 */
  pciAddress: string;
}

const bus = (d: PciDevice) => posix.join(d.sysfsRoot, "bus", "pci");
export const deviceDir = (d: PciDevice) => posix.join(bus(d), "devices", d.pciAddress);

/** A command's output, or undefined when it answered that the file is not there; anything else throws. */
export async function unlessMissing(host: HostSpec, argv: string[]): Promise<string | undefined> {
  return (await exec(host, argv).catch(ignoring("not-found")))?.stdout.trim();
}

export async function deviceExists(d: PciDevice): Promise<boolean> {
  return (await unlessMissing(d.host, ["test", "-d", deviceDir(d)])) !== undefined;
}

/** The driver bound now, or undefined when none is. */
export async function currentDriver(d: PciDevice): Promise<string | undefined> {
  const target = await unlessMissing(d.host, ["readlink", posix.join(deviceDir(d), "driver")]);
  return target ? posix.basename(target) : undefined;
}

/** The netdevs the bound driver made (net/<ifname>), usually one or none. */
export async function netdevs(d: PciDevice): Promise<string[]> {
  const listing = await unlessMissing(d.host, ["ls", "-1", posix.join(deviceDir(d), "net")]);
  return listing ? listing.split("\n").filter(Boolean) : [];
}

/** Writes a sysfs attribute. Appending changes nothing for the kernel, and lets the lab's emulation see every write. */
export async function write(d: PciDevice, path: string, value: string): Promise<void> {
  await exec(d.host, ["tee", "-a", path], { stdin: `${value}\n` });
}

/** Polls the driver link; drivers (and the lab's emulation) bind just after the write returns. */
function driverBecomes(d: PciDevice, driver: string | undefined, timeoutMs: number): Promise<boolean> {
  return waitFor(async () => (await currentDriver(d)) === driver, timeoutMs);
}

/** Binds the device to `driver` (undefined: no driver), from whatever it is bound to now. */
export async function bind(d: PciDevice, driver: string | undefined, timeoutMs = 15_000): Promise<void> {
  const now = await currentDriver(d);
  if (now === driver) return;
  if (driver) await write(d, posix.join(deviceDir(d), "driver_override"), driver);
  if (now) {
    await write(d, posix.join(bus(d), "drivers", now, "unbind"), d.pciAddress);
    if (!(await driverBecomes(d, undefined, timeoutMs))) throw new Error(`${d.pciAddress} on ${hostLabel(d.host)} did not unbind from ${now} within ${timeoutMs} ms`);
  }
  if (driver) {
    await write(d, posix.join(bus(d), "drivers", driver, "bind"), d.pciAddress);
    const bound = await driverBecomes(d, driver, timeoutMs);
    // An empty override lets the kernel pick drivers for the device again.
    await write(d, posix.join(deviceDir(d), "driver_override"), "");
    if (!bound) {
      throw new Error(`${d.pciAddress} on ${hostLabel(d.host)} did not bind to ${driver} within ${timeoutMs} ms; is the ${driver} module loaded (modprobe ${driver})? The kernel log (dmesg) says why a bind fails`);
    }
  }
}

/** The PF of a VF (its physfn link), or undefined for a device that is no VF. */
export async function physfn(d: PciDevice): Promise<string | undefined> {
  const target = await unlessMissing(d.host, ["readlink", posix.join(deviceDir(d), "physfn")]);
  return target ? posix.basename(target) : undefined;
}

/**
 * A PF's VFs by index, from its virtfn<N> links (-H: a real /sys/bus/pci/devices/<pf>
 * is itself a link, to be followed; the virtfn links within are printed, not followed).
 */
export async function virtfns(d: PciDevice): Promise<string[]> {
  const listing = await exec(d.host, ["find", "-H", deviceDir(d), "-maxdepth", "1", "-name", "virtfn*", "-printf", "%f %l\n"]);
  const vfs: string[] = [];
  for (const [, index, target] of listing.stdout.matchAll(/^virtfn(\d+) (\S+)$/gm)) vfs[Number(index)] = posix.basename(target);
  return vfs;
}

/** A PF's sriov_numvfs and sriov_totalvfs, or undefined when it has none (no PF, or no SR-IOV). */
export async function sriovCounts(d: PciDevice): Promise<{ numVfs: number; totalVfs: number } | undefined> {
  const file = (name: string) => posix.join(deviceDir(d), name);
  const text = await unlessMissing(d.host, ["grep", "-H", "", file("sriov_numvfs"), file("sriov_totalvfs")]);
  if (text === undefined) return undefined;
  // The last line of each: the lab's emulation appends writes until it has acted on them.
  const last = (name: string) => Number([...text.matchAll(/^(.*):(.*)$/gm)].filter(([, path]) => path === file(name)).at(-1)?.[2]);
  return { numVfs: last("sriov_numvfs"), totalVfs: last("sriov_totalvfs") };
}

/**
 * Gives a PF that has `now` VFs `count` of them. The kernel changes a
 * non-zero count only through 0 (EBUSY otherwise), so that is the way taken:
 * every VF is then made anew. The VFs appear inside the write on a real host,
 * just after it on the lab: polled until sriov_numvfs and the virtfn links
 * both say `count`.
 */
export async function setNumVfs(d: PciDevice, now: number, count: number, timeoutMs = 30_000): Promise<void> {
  if (now === count) return;
  if (now !== 0 && count !== 0) await setNumVfs(d, now, 0, timeoutMs);
  await write(d, posix.join(deviceDir(d), "sriov_numvfs"), String(count));
  // A link that goes while find lists the others is a VF on its way: not done yet.
  const done = async () => (await sriovCounts(d))?.numVfs === count && (await virtfns(d).catch(ignoring("not-found")))?.filter(Boolean).length === count;
  if (!(await waitFor(done, timeoutMs))) {
    throw new Error(
      `sriov_numvfs of ${d.pciAddress} on ${hostLabel(d.host)} did not become ${count} within ${timeoutMs} ms (it reads ${(await sriovCounts(d))?.numVfs}); the kernel log (dmesg) says why`,
    );
  }
}
