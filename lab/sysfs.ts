// The emulated SmartNIC's PCI sysfs (EMULATION, not a Netronome NIC). It keeps
// the kernel's file protocol, so code written for /sys/bus/pci works on it:
//   devices/<addr>/driver -> ../../drivers/<name>   (absent when unbound)
//   devices/<addr>/driver_override                   (empty: none)
//   devices/<addr>/net/<ifname>/                     (while a netdev driver holds it)
//   drivers/<name>/{bind,unbind}, drivers_probe      (write a PCI address)
// Binding a VF to a netdev driver moves its veth end from the fabric into the
// host as netvf<n>; unbinding parks it in the fabric again, from whatever
// namespace it was moved to. The kernel acts inside write(); here a watcher
// acts just after it, so callers poll for the result, as they should on real
// hardware too (netdevs appear asynchronously).
import { watch, type FSWatcher } from "node:fs";
import { mkdir, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exec } from "../provider/host.ts";
import { ipBatch, ipExec, whereIs } from "../provider/ip.ts";
import { unlessGone } from "../provider/proc.ts";
import { DEFAULT_DRIVER, DRIVERS, NETDEV_DRIVERS, type Driver, type Lab, type LabHost, type Vf } from "./layout.ts";

const local = { kind: "local" } as const;
const NETRONOME_VENDOR = "0x19ee";
const NFP_VF_DEVICE = "0x6003";

export const pciBus = (host: LabHost) => join(host.sysfs, "bus", "pci");
const deviceDir = (host: LabHost, vf: Vf) => join(pciBus(host), "devices", vf.pci);
const driverDir = (host: LabHost, driver: string) => join(pciBus(host), "drivers", driver);

export async function writeSysfsTree(host: LabHost): Promise<void> {
  for (const driver of DRIVERS) {
    await mkdir(driverDir(host, driver), { recursive: true });
    for (const file of ["bind", "unbind"]) await writeFile(join(driverDir(host, driver), file), "", { flag: "a" });
  }
  await writeFile(join(pciBus(host), "drivers_probe"), "", { flag: "a" });
  for (const vf of host.vfs) {
    const dir = deviceDir(host, vf);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "vendor"), `${NETRONOME_VENDOR}\n`);
    await writeFile(join(dir, "device"), `${NFP_VF_DEVICE}\n`);
    await writeFile(join(dir, "driver_override"), "", { flag: "a" });
  }
}

/** The driver a VF is bound to, read the way one reads real sysfs: no driver link, no driver. */
export async function boundDriver(host: LabHost, vf: Vf): Promise<string | undefined> {
  return (await readlink(join(deviceDir(host, vf), "driver")).catch(unlessGone))?.split("/").pop();
}

/** driver_override as the kernel keeps it: the last value written (writers append); empty, "(null)" or NUL mean none. */
async function driverOverride(host: LabHost, vf: Vf): Promise<string | undefined> {
  const lines = (await readFile(join(deviceDir(host, vf), "driver_override"), "utf8")).replace(/\0/g, "").split("\n");
  if (lines.at(-1) === "") lines.pop();
  const raw = (lines.at(-1) ?? "").trim();
  return raw === "" || raw === "(null)" ? undefined : raw;
}

const isNetdevDriver = (d: string) => (NETDEV_DRIVERS as readonly string[]).includes(d);

export class SysfsEmulator {
  private readonly lab: Lab;
  private readonly log: (line: string) => void;
  private readonly watchers: FSWatcher[] = [];
  private queue: Promise<void> = Promise.resolve();

  constructor(lab: Lab, log: (line: string) => void) {
    this.lab = lab;
    this.log = log;
  }

  start(): void {
    for (const host of this.lab.hosts) {
      this.watchFile(host, pciBus(host), "drivers_probe", (addr) => this.probe(host, addr));
      for (const driver of DRIVERS) {
        this.watchFile(host, driverDir(host, driver), "bind", (addr) => this.bind(host, addr, driver));
        this.watchFile(host, driverDir(host, driver), "unbind", (addr) => this.unbind(host, addr, driver));
      }
    }
  }

  stop(): void {
    for (const w of this.watchers) w.close();
  }

  /** Resolves when every write seen so far has been acted on. */
  idle(): Promise<void> {
    return this.queue;
  }

  private watchFile(host: LabHost, dir: string, file: string, act: (addr: string) => Promise<void>): void {
    const path = join(dir, file);
    // Writers append, as dpdk-devbind does (the kernel ignores O_APPEND on sysfs
    // attributes), so two writes close together are two lines here, never one
    // overwriting the other.
    let consumed = 0;
    this.watchers.push(
      watch(dir, (_event, name) => {
        if (name !== file) return;
        this.queue = this.queue.then(async () => {
          const text = await readFile(path, "utf8");
          if (text.length < consumed) consumed = 0; // truncated by a writer that does not append (echo >)
          const complete = text.slice(consumed, text.lastIndexOf("\n") + 1);
          consumed += complete.length;
          for (const addr of complete.split("\n").map((l) => l.trim()).filter(Boolean)) {
            try {
              await act(addr);
            } catch (err) {
              this.log(`${host.name}: ${file} ${addr}: ${(err as Error).message}`);
            }
          }
        });
      }),
    );
  }

  private vf(host: LabHost, addr: string): Vf {
    const vf = host.vfs.find((v) => v.pci === addr);
    if (!vf) throw new Error(`no such device (ENODEV)`);
    return vf;
  }

  private async probe(host: LabHost, addr: string): Promise<void> {
    const vf = this.vf(host, addr);
    if ((await boundDriver(host, vf)) !== undefined) return;
    await this.attach(host, vf, ((await driverOverride(host, vf)) ?? DEFAULT_DRIVER) as Driver);
  }

  private async bind(host: LabHost, addr: string, driver: Driver): Promise<void> {
    const vf = this.vf(host, addr);
    if ((await boundDriver(host, vf)) !== undefined) throw new Error("device already bound (EBUSY)");
    const override = await driverOverride(host, vf);
    if (override !== undefined && override !== driver) throw new Error(`driver_override is ${override} (ENODEV)`);
    await this.attach(host, vf, driver);
  }

  private async unbind(host: LabHost, addr: string, driver: Driver): Promise<void> {
    const vf = this.vf(host, addr);
    if ((await boundDriver(host, vf)) !== driver) throw new Error(`device not bound to ${driver} (ENODEV)`);
    if (isNetdevDriver(driver)) {
      // Wherever it was moved: its host, or a namespace a stack gave it to ("" is the emulator's own, the fabric).
      const netns = await whereIs(local, vf.altname);
      if (netns === undefined) throw new Error(`VF netdev ${vf.altname} is in no network namespace`);
      await ipBatch(local, netns, [`link set dev ${vf.altname} down`, `link set dev ${vf.altname} netns ${this.lab.fabricNetns} name ${vf.parked}`]);
      await rm(join(deviceDir(host, vf), "net"), { recursive: true, force: true });
    }
    await rm(join(deviceDir(host, vf), "driver"), { force: true });
    await rm(join(driverDir(host, driver), vf.pci), { force: true });
    this.log(`${host.name}: ${vf.pci} unbound from ${driver}`);
  }

  private async attach(host: LabHost, vf: Vf, driver: Driver): Promise<void> {
    if (isNetdevDriver(driver)) {
      // A veth leaves TCP checksums to the receiver, but the representor's
      // receiver is OVS's userspace datapath, which forwards them unfinished
      // into the tunnel: the VF computes its checksums, as a real NIC's VF does.
      await exec({ kind: "netns", netns: this.lab.fabricNetns }, ["ethtool", "-K", vf.parked, "tx", "off"]);
      await ipExec(local, this.lab.fabricNetns, ["link", "set", "dev", vf.parked, "netns", host.netns, "name", vf.netdev]);
      await mkdir(join(deviceDir(host, vf), "net", vf.netdev), { recursive: true });
    }
    await symlink(join("..", "..", "drivers", driver), join(deviceDir(host, vf), "driver"));
    await symlink(join("..", "..", "devices", vf.pci), join(driverDir(host, driver), vf.pci));
    this.log(`${host.name}: ${vf.pci} bound to ${driver}`);
  }
}
