// Driver binding of PCI devices through sysfs, the way dpdk-devbind does it:
// driver_override, unbind from the current driver, bind to the new one, clear
// the override. Files are read and written on the host (readlink, ls, tee), so
// the same code works on a real /sys, over SSH, and on the lab's emulated tree.
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
const deviceDir = (d: PciDevice) => posix.join(bus(d), "devices", d.pciAddress);

/** A command's output, or undefined when it answered that the file is not there; anything else throws. */
async function unlessMissing(host: HostSpec, argv: string[]): Promise<string | undefined> {
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
async function write(d: PciDevice, path: string, value: string): Promise<void> {
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
