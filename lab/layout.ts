// Where everything of a lab lives: namespace, link and file names, addresses,
// the emulated NIC's PF and VFs. Pure data derived from the lab's name, so
// `down` can find what a crashed `up` left without any record of it.
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { HostSpec } from "../provider/host.ts";

/** Lab names prefix namespace names; short so interface names stay <= 15 bytes. */
export const LAB_NAME_PATTERN = /^[a-z][a-z0-9]{0,7}$/;
export const DEFAULT_LAB_NAME = "ool";
/** All labs' files live under here (tmpfs: gone after a reboot, like the namespaces). */
export const LAB_ROOT = "/run/ovs-offload-lab";
/** VFs per emulated SmartNIC (its sriov_totalvfs, and the count `up` enables); scenario 5 uses VF 21 (representor sdn_v0.21). */
export const DEFAULT_VF_COUNT = 24;
/** The emulated NIC's PF, ahead of its VFs on the same bus, as an Agilio card's is. */
export const PF_PCI = "0000:04:00.0";
export const UNDERLAY_MTU = 9000;

/** Emulated drivers: binding to a netdev driver makes the VF netdev appear. */
export const NETDEV_DRIVERS = ["nfp_netvf"] as const;
export const PARKING_DRIVERS = ["nfp_uio", "vfio-pci"] as const;
export const DRIVERS = [...NETDEV_DRIVERS, ...PARKING_DRIVERS] as const;
export type Driver = (typeof DRIVERS)[number];
/** What `drivers_probe` binds a VF without driver_override to, as the kernel's VF driver would. */
export const DEFAULT_DRIVER: Driver = "nfp_netvf";

export interface Vf {
  index: number;
  /** PCI address, e.g. 0000:04:08.0 (eight functions per device, as SR-IOV VFs are laid out). */
  pci: string;
  /** Host-side veth end, named like the Netronome representor: sdn_v0.<n>. */
  representor: string;
  /** The representor's phys_port_name, as the kernel's devlink port names a VF's: pf<PF>vf<n>. */
  portName: string;
  /** The VF's netdev name in the host while bound to a netdev driver. */
  netdev: string;
  /** Its name while parked in the fabric namespace (no netdev driver). */
  parked: string;
  /** An alternative name that follows the VF into any namespace (to find it for unbinding). */
  altname: string;
}

/** The emulated NIC's physical function: the VFs' physfn, its uplink the host's underlay link. */
export interface Pf {
  pci: string;
  /** The PF's netdev (uplink, phys_port_name p0): the host's underlay link, the NIC's physical port. */
  uplink: string;
  /** phys_switch_id of the uplink and every representor: one eswitch per host. */
  switchId: string;
}

export interface LabHost {
  name: string;
  netns: string;
  /** Files of this host: OVS database, run directory, logs, emulated sysfs. */
  dir: string;
  /** OVS_RUNDIR of this host's Open vSwitch. */
  ovsRundir: string;
  /** Root of the emulated sysfs, used where a real host has /sys. */
  sysfs: string;
  /** Underlay address (RFC 5737), on the br-phy bridge as OVS userspace tunnelling needs. */
  underlayIp: string;
  /** The host's veth end on the underlay, and its peer on the fabric's switch. */
  underlayLink: string;
  fabricLink: string;
  pf: Pf;
  /** Every VF the PF can have (sriov_totalvfs); those below sriov_numvfs exist. */
  vfs: Vf[];
  spec: HostSpec;
}

export interface Lab {
  name: string;
  dir: string;
  /** Namespace outside the hosts: the underlay switch, parked VFs, the sysfs emulator. */
  fabricNetns: string;
  underlaySwitch: string;
  hosts: LabHost[];
  /** Pidfile of the sysfs emulator. */
  emulatorPidfile: string;
}

export const HOST_NAMES = ["host1", "host2", "gateway"] as const;
export const UNDERLAY_PREFIX_LEN = 24;
export const UNDERLAY_PHY_BRIDGE = "br-phy";
const UNDERLAY_LINK = "ul0";

export function vfPci(index: number): string {
  const dev = (8 + Math.floor(index / 8)).toString(16).padStart(2, "0");
  return `0000:04:${dev}.${index % 8}`;
}

export function labLayout(name: string = DEFAULT_LAB_NAME, vfCount: number = DEFAULT_VF_COUNT): Lab {
  if (!LAB_NAME_PATTERN.test(name)) {
    throw new Error(`lab name ${JSON.stringify(name)} is not valid: 1 to 8 characters, a lowercase letter then lowercase letters or digits`);
  }
  const dir = join(LAB_ROOT, name);
  const hosts = HOST_NAMES.map((host, i): LabHost => {
    const hostDir = join(dir, host);
    const netns = `${name}-${host}`;
    const ovsRundir = join(hostDir, "ovs");
    return {
      name: host,
      netns,
      dir: hostDir,
      ovsRundir,
      sysfs: join(hostDir, "sys"),
      underlayIp: `192.0.2.${i + 1}`,
      underlayLink: UNDERLAY_LINK,
      fabricLink: `${host}-ul`,
      // 8 bytes of hex, as mlx5 and nfp print theirs; distinct per lab and host.
      pf: { pci: PF_PCI, uplink: UNDERLAY_LINK, switchId: createHash("sha256").update(`${name}/${host}`).digest("hex").slice(0, 16) },
      vfs: Array.from({ length: vfCount }, (_, n) => ({
        index: n,
        pci: vfPci(n),
        representor: `sdn_v0.${n}`,
        portName: `pf0vf${n}`,
        netdev: `netvf${n}`,
        parked: `${host}-vf${n}`,
        altname: `${name}.${host}.vf${n}`,
      })),
      spec: { kind: "netns", netns, ovsRundir },
    };
  });
  return {
    name,
    dir,
    fabricNetns: `${name}-fabric`,
    underlaySwitch: "ul-sw",
    hosts,
    emulatorPidfile: join(dir, "sysfs-emulator.pid"),
  };
}
