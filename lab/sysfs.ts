// The emulated SmartNIC's sysfs (EMULATION, not a Netronome NIC). It keeps
// the kernel's file protocol, so code written for /sys works on it:
//   bus/pci/devices/<pf>/sriov_totalvfs, sriov_numvfs  (write a count: VFs appear, or go at 0)
//   bus/pci/devices/<pf>/virtfn<n> -> ../<vf>          (and <vf>/physfn -> ../<pf>)
//   bus/pci/devices/<pf>/net/<uplink>/                 (phys_port_name p0, phys_switch_id)
//   class/net/<representor>/                           (phys_port_name pf0vf<n>, the uplink's phys_switch_id)
//   bus/pci/devices/<vf>/driver -> ../../drivers/<name>   (absent when unbound)
//   bus/pci/devices/<vf>/driver_override                  (empty: none)
//   bus/pci/devices/<vf>/net/<ifname>/                    (while a netdev driver holds it)
//   bus/pci/drivers/<name>/{bind,unbind}, drivers_probe   (write a PCI address)
// class/net holds the NIC's netdevs only (uplink and representors), not the
// host's others. A VF is a veth pair: its representor sdn_v0.<n> in the host,
// its other end parked in the fabric. Binding a VF to a netdev driver moves
// that end into the host as netvf<n>; unbinding parks it again, from whatever
// namespace it was moved to. The kernel acts inside write(); here a watcher
// acts just after it, so callers poll for the result, as they should on real
// hardware too (netdevs appear asynchronously). Each VF's last piece to appear
// and to go is its virtfn link, so a VF with one is whole.
import { existsSync, watch, type FSWatcher } from "node:fs";
import { mkdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exec } from "../provider/host.ts";
import { ipBatch, ipExec, whereIs } from "../provider/ip.ts";
import { unlessGone } from "../provider/proc.ts";
import { DEFAULT_DRIVER, DRIVERS, NETDEV_DRIVERS, type Driver, type Lab, type LabHost, type Vf } from "./layout.ts";

const local = { kind: "local" } as const;
const NETRONOME_VENDOR = "0x19ee";
const NFP_PF_DEVICE = "0x4000";
const NFP_VF_DEVICE = "0x6003";
const PF_DRIVER = "nfp";

export const pciBus = (host: LabHost) => join(host.sysfs, "bus", "pci");
const deviceDir = (host: LabHost, pci: string) => join(pciBus(host), "devices", pci);
const driverDir = (host: LabHost, driver: string) => join(pciBus(host), "drivers", driver);
const pfDir = (host: LabHost) => deviceDir(host, host.pf.pci);
const classNet = (host: LabHost) => join(host.sysfs, "class", "net");
const virtfn = (host: LabHost, vf: Vf) => join(pfDir(host), `virtfn${vf.index}`);

/** A link to `target`, unless one is there already (a second `lab up`). */
async function link(target: string, path: string): Promise<void> {
  await symlink(target, path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EEXIST") throw err;
  });
}

/** A netdev's switchdev attributes, as the kernel shows them under /sys/class/net/<ifname>. */
async function portAttributes(dir: string, portName: string, switchId: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "phys_port_name"), `${portName}\n`);
  await writeFile(join(dir, "phys_switch_id"), `${switchId}\n`);
}

/**
 * The `ip -batch` lines that make VFs' veth pairs: the representor in the
 * host, the other end parked in the fabric with an altname that follows it
 * into any namespace. Run from the machine's namespace (root), the fabric
 * and the host.
 */
export function vfLinks(lab: Lab, host: LabHost, vfs: Vf[]): { root: string[]; fabric: string[]; host: string[] } {
  return {
    root: vfs.map((vf) => `link add ${vf.representor} netns ${host.netns} type veth peer name ${vf.parked} netns ${lab.fabricNetns}`),
    fabric: vfs.map((vf) => `link property add dev ${vf.parked} altname ${vf.altname}`),
    // A port of OVS has no addresses: no IPv6 link-local appearing once the VF comes up.
    host: vfs.map((vf) => `link set ${vf.representor} addrgenmode none up`),
  };
}

/** The VFs that exist now: those below sriov_numvfs (all of them before the first `up` writes it). */
export async function enabledVfs(host: LabHost): Promise<Vf[]> {
  const text = await readFile(join(pfDir(host), "sriov_numvfs"), "utf8").catch(unlessGone);
  return host.vfs.slice(0, text === undefined ? host.vfs.length : Number(text.trim().split("\n").at(-1)));
}

async function writeVfTree(host: LabHost, vf: Vf): Promise<void> {
  const dir = deviceDir(host, vf.pci);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "vendor"), `${NETRONOME_VENDOR}\n`);
  await writeFile(join(dir, "device"), `${NFP_VF_DEVICE}\n`);
  await writeFile(join(dir, "driver_override"), "", { flag: "a" });
  await link(join("..", host.pf.pci), join(dir, "physfn"));
  await portAttributes(join(classNet(host), vf.representor), vf.portName, host.pf.switchId);
  await link(join("..", vf.pci), virtfn(host, vf));
}

async function removeVfTree(host: LabHost, vf: Vf): Promise<void> {
  await rm(deviceDir(host, vf.pci), { recursive: true, force: true });
  await rm(join(classNet(host), vf.representor), { recursive: true, force: true });
  await rm(virtfn(host, vf), { force: true });
}

/** The tree of `host`: drivers, the PF with its uplink, and the VFs enabled now (every VF on the first `up`). */
export async function writeSysfsTree(host: LabHost): Promise<void> {
  for (const driver of DRIVERS) {
    await mkdir(driverDir(host, driver), { recursive: true });
    for (const file of ["bind", "unbind"]) await writeFile(join(driverDir(host, driver), file), "", { flag: "a" });
  }
  await mkdir(driverDir(host, PF_DRIVER), { recursive: true });
  await writeFile(join(pciBus(host), "drivers_probe"), "", { flag: "a" });
  const pf = pfDir(host);
  const vfs = await enabledVfs(host);
  await mkdir(pf, { recursive: true });
  await writeFile(join(pf, "vendor"), `${NETRONOME_VENDOR}\n`);
  await writeFile(join(pf, "device"), `${NFP_PF_DEVICE}\n`);
  await writeFile(join(pf, "sriov_totalvfs"), `${host.vfs.length}\n`);
  await writeFile(join(pf, "sriov_numvfs"), `${vfs.length}\n`);
  // New VFs start without a driver, as with `echo 0 > sriov_drivers_autoprobe`.
  await writeFile(join(pf, "sriov_drivers_autoprobe"), "0\n");
  await link(join("..", "..", "drivers", PF_DRIVER), join(pf, "driver"));
  await link(join("..", "..", "devices", host.pf.pci), join(driverDir(host, PF_DRIVER), host.pf.pci));
  await portAttributes(join(pf, "net", host.pf.uplink), "p0", host.pf.switchId);
  await mkdir(classNet(host), { recursive: true });
  await link(join("..", "..", "bus", "pci", "devices", host.pf.pci, "net", host.pf.uplink), join(classNet(host), host.pf.uplink));
  await Promise.all(vfs.map((vf) => writeVfTree(host, vf)));
}

/** The driver a VF is bound to, read the way one reads real sysfs: no driver link, no driver. */
export async function boundDriver(host: LabHost, vf: Vf): Promise<string | undefined> {
  return (await readlink(join(deviceDir(host, vf.pci), "driver")).catch(unlessGone))?.split("/").pop();
}

/** driver_override as the kernel keeps it: the last value written (writers append); empty, "(null)" or NUL mean none. */
async function driverOverride(host: LabHost, vf: Vf): Promise<string | undefined> {
  const lines = (await readFile(join(deviceDir(host, vf.pci), "driver_override"), "utf8")).replace(/\0/g, "").split("\n");
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
      this.watchFile(host, pfDir(host), "sriov_numvfs", (count) => this.setNumVfs(host, count));
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

  private watchFile(host: LabHost, dir: string, file: string, act: (line: string) => Promise<void>): void {
    const path = join(dir, file);
    // Writers append, as dpdk-devbind does (the kernel ignores O_APPEND on sysfs
    // attributes), so two writes close together are two lines here, never one
    // overwriting the other.
    let seen = ""; // the lines acted on
    let modified = 0n;
    this.watchers.push(
      watch(dir, (_event, name) => {
        if (name !== file) return;
        this.queue = this.queue.then(async () => {
          // The time first: a write between the two is then seen twice (acting on it again is refused, or
          // changes nothing), never missed.
          const { mtimeNs } = await stat(path, { bigint: true });
          const text = await readFile(path, "utf8");
          // Written over by a writer that does not append (echo >), or by the emulator itself: no longer what
          // was seen and more, or the same written again (`echo 0 > sriov_numvfs` over "0").
          if (!text.startsWith(seen) || (text === seen && mtimeNs !== modified)) seen = "";
          modified = mtimeNs;
          const complete = text.slice(seen.length, text.lastIndexOf("\n") + 1);
          seen += complete;
          for (const line of complete.split("\n").map((l) => l.trim()).filter(Boolean)) {
            try {
              await act(line);
            } catch (err) {
              this.log(`${host.name}: ${file} ${line}: ${(err as Error).message}`);
            }
          }
        });
      }),
    );
  }

  private vf(host: LabHost, addr: string): Vf {
    const vf = host.vfs.find((v) => v.pci === addr);
    if (!vf || !existsSync(virtfn(host, vf))) throw new Error(`no such device (ENODEV)`);
    return vf;
  }

  /** VFs 0..count-1 exist: the count of leading VFs whose virtfn link is there. */
  private enabled(host: LabHost): number {
    const missing = host.vfs.findIndex((vf) => !existsSync(virtfn(host, vf)));
    return missing === -1 ? host.vfs.length : missing;
  }

  /**
   * A write to sriov_numvfs, as the kernel's sriov_numvfs_store takes it: the
   * same count changes nothing; a count above sriov_totalvfs is ERANGE; a
   * non-zero count while VFs exist is EBUSY (only 0 removes them). The file
   * then reads the count the PF has.
   */
  private async setNumVfs(host: LabHost, line: string): Promise<void> {
    const file = join(pfDir(host), "sriov_numvfs");
    const now = this.enabled(host);
    const count = Number(line);
    // Unchanged: nothing to do and nothing to write (the emulator's own write back comes through here too).
    if (count === now) return;
    const refuse = async (why: string) => {
      await writeFile(file, `${now}\n`);
      throw new Error(why);
    };
    if (!/^\d+$/.test(line)) return refuse("invalid argument (EINVAL)");
    if (count > host.vfs.length) return refuse(`${count} is more than sriov_totalvfs ${host.vfs.length} (ERANGE)`);
    if (count !== 0 && now !== 0) return refuse(`${now} VFs already enabled. Disable before enabling ${count} VFs (EBUSY)`);
    await writeFile(file, `${count}\n`);
    if (count === 0) await this.removeVfs(host, host.vfs.slice(0, now));
    else await this.addVfs(host, host.vfs.slice(0, count));
    this.log(`${host.name}: sriov_numvfs ${now} -> ${count}`);
  }

  private async addVfs(host: LabHost, vfs: Vf[]): Promise<void> {
    const lines = vfLinks(this.lab, host, vfs);
    await ipBatch(local, undefined, lines.root);
    await ipBatch(local, this.lab.fabricNetns, lines.fabric);
    await ipBatch(local, host.netns, lines.host);
    await Promise.all(vfs.map((vf) => writeVfTree(host, vf)));
  }

  /** Like the kernel: each VF's driver lets go of it, then the VF and its representor are gone. */
  private async removeVfs(host: LabHost, vfs: Vf[]): Promise<void> {
    for (const vf of vfs) {
      const driver = await boundDriver(host, vf);
      if (driver) await this.detach(host, vf, driver as Driver);
    }
    // Deleting the parked end takes its peer, the representor, wherever it is.
    await ipBatch(local, this.lab.fabricNetns, vfs.map((vf) => `link del dev ${vf.parked}`));
    await Promise.all(vfs.map((vf) => removeVfTree(host, vf)));
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
    await this.detach(host, vf, driver);
  }

  private async detach(host: LabHost, vf: Vf, driver: Driver): Promise<void> {
    if (isNetdevDriver(driver)) {
      // Wherever it was moved: its host, or a namespace a stack gave it to ("" is the emulator's own, the fabric).
      const netns = await whereIs(local, vf.altname);
      if (netns === undefined) throw new Error(`VF netdev ${vf.altname} is in no network namespace`);
      await ipBatch(local, netns, [`link set dev ${vf.altname} down`, `link set dev ${vf.altname} netns ${this.lab.fabricNetns} name ${vf.parked}`]);
      await rm(join(deviceDir(host, vf.pci), "net"), { recursive: true, force: true });
    }
    await rm(join(deviceDir(host, vf.pci), "driver"), { force: true });
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
      await mkdir(join(deviceDir(host, vf.pci), "net", vf.netdev), { recursive: true });
    }
    await symlink(join("..", "..", "drivers", driver), join(deviceDir(host, vf.pci), "driver"));
    await symlink(join("..", "..", "devices", vf.pci), join(driverDir(host, driver), vf.pci));
    this.log(`${host.name}: ${vf.pci} bound to ${driver}`);
  }
}
