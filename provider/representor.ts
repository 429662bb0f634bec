// A VF's representor, found rather than assumed, the way the kernel says to
// identify one (Documentation/networking/representors.rst): the netdev on the
// VF's eswitch — its phys_switch_id is the PF's — whose phys_port_name names
// the VF, pf<P>vf<N> (devlink ports; c<C>pf<P>vf<N> on an external
// controller; older ice drivers pf<P>vfr<N>), N the VF's index among its
// PF's virtfn links. Names are whatever udev made of them (sdn_v0.3,
// eth5, enp4s0np0pf0vf3…), so none is guessed.
import { posix } from "node:path";
import { exec, hostLabel } from "./host.ts";
import { netdevs, physfn, virtfns, type PciDevice } from "./pci.ts";

/** A netdev's switchdev attributes, each only when its driver reports it. */
export interface PortAttributes {
  switchId?: string;
  portName?: string;
}

const ATTRIBUTES = ["phys_switch_id", "phys_port_name"] as const;

/**
 * Prints every netdev's phys_switch_id and phys_port_name as `<path>:<value>`
 * lines, in one command. A netdev without them fails the read
 * (EOPNOTSUPP): grep -s says nothing of it, and find's `-exec … ;` keeps its
 * own status 0. -L: /sys/class/net/<ifname> are links.
 */
export const portAttributesArgv = (classNet: string) => [
  "find", "-L", classNet, "-mindepth", "2", "-maxdepth", "2",
  "(", "-name", ATTRIBUTES[0], "-o", "-name", ATTRIBUTES[1], ")",
  "-exec", "grep", "-H", "-s", "", "{}", ";",
];

/** `<dir>/<ifname>/phys_switch_id:<id>` lines (grep -H), by netdev. Interface names have no '/' or ':'. */
export function parsePortAttributes(stdout: string): Map<string, PortAttributes> {
  const ports = new Map<string, PortAttributes>();
  for (const [, ifname, attribute, value] of stdout.matchAll(/^.*\/([^/:]+)\/(phys_switch_id|phys_port_name):(.*)$/gm)) {
    const port = ports.get(ifname) ?? {};
    if (attribute === "phys_switch_id") port.switchId = value.trim();
    else port.portName = value.trim();
    ports.set(ifname, port);
  }
  return ports;
}

const VF_PORT_NAME = /^(?:c\d+)?pf(\d+)vfr?(\d+)$/;

/**
 * The representor of VF `vfIndex` among `ports`: on the eswitch of the PF's
 * netdevs, named for that VF; where PFs share an eswitch, the one whose pf
 * number is the PF's PCI function. A string when found, else why not.
 */
export function pickRepresentor(ports: Map<string, PortAttributes>, pfNetdevs: string[], vfIndex: number, pfFunction: number): { name: string } | { why: string } {
  const switchIds = new Set(pfNetdevs.map((n) => ports.get(n)?.switchId).filter((id) => id));
  if (switchIds.size === 0) return { why: `no netdev of the PF (${pfNetdevs.join(", ") || "none"}) has a phys_switch_id: is its eswitch in switchdev mode?` };
  const forVf = [...ports].flatMap(([name, a]) => {
    const m = VF_PORT_NAME.exec(a.portName ?? "");
    return m && switchIds.has(a.switchId) && Number(m[2]) === vfIndex ? [{ name, pf: Number(m[1]) }] : [];
  });
  const found = forVf.length > 1 ? forVf.filter((r) => r.pf === pfFunction) : forVf;
  if (found.length === 1) return { name: found[0].name };
  return found.length === 0
    ? { why: `no netdev on the PF's eswitch (phys_switch_id ${[...switchIds].join(", ")}) has a phys_port_name for VF ${vfIndex} (pf<P>vf${vfIndex})` }
    : { why: `several netdevs could be VF ${vfIndex}'s: ${found.map((r) => r.name).join(", ")}` };
}

/** The representor of VF `vf`, from the host's sysfs; throws saying what is missing and how to name it instead. */
export async function findRepresentor(vf: PciDevice): Promise<string> {
  const fail = (why: string) =>
    new Error(`the representor of VF ${vf.pciAddress} on ${hostLabel(vf.host)} was not found: ${why}; name it with the VfBinding's representorName (a stack: hosts.<role>.vfs."<n>".representor)`);
  const pf = await physfn(vf);
  if (!pf) throw fail(`it has no physfn link, so it is no SR-IOV VF`);
  const pfDevice = { ...vf, pciAddress: pf };
  const index = (await virtfns(pfDevice)).indexOf(vf.pciAddress);
  if (index < 0) throw fail(`no virtfn link of its PF ${pf} points at it`);
  const listing = await exec(vf.host, portAttributesArgv(posix.join(vf.sysfsRoot, "class", "net")));
  const picked = pickRepresentor(parsePortAttributes(listing.stdout), await netdevs(pfDevice), index, Number(pf.split(".")[1]));
  if ("why" in picked) throw fail(picked.why);
  return picked.name;
}
