// The built-in lab: three hosts (network namespaces, each with its own Open
// vSwitch), an underlay switch, and an emulated SmartNIC per host. `up` and
// `down` are idempotent; `down` finds everything from the lab's name alone, so
// it also cleans up after a crashed or killed `up`.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { exec, waitFor } from "../provider/host.ts";
import { addNetns, deleteNetns, ipBatch, ipJson, netnsNames, type IpLink } from "../provider/ip.ts";
import { LAB_ROOT, UNDERLAY_MTU, type Lab, type LabHost } from "./layout.ts";
import { OVS_DAEMONS, ovsDaemonPid, startOvs, stopOvs } from "./ovs.ts";
import { runningFromPidfile, stopPid } from "./process.ts";
import { boundDriver, enabledVfs, vfLinks, writeSysfsTree } from "./sysfs.ts";

const local = { kind: "local" } as const;
const EMULATOR = join(import.meta.dirname, "sysfs-emulator.ts");

export type Say = (line: string) => void;

async function linkNames(netns: string): Promise<Set<string>> {
  return new Set((await ipJson<IpLink>(local, netns, ["link", "show"])).map((l) => l.ifname));
}

const allNetns = (lab: Lab) => [lab.fabricNetns, ...lab.hosts.map((h) => h.netns)];
const emulatorPid = (lab: Lab) => runningFromPidfile(lab.emulatorPidfile, EMULATOR);

export async function labUp(lab: Lab, say: Say): Promise<void> {
  await mkdir(lab.dir, { recursive: true });
  const present = new Set(await netnsNames(local));
  for (const netns of allNetns(lab).filter((n) => !present.has(n))) {
    say(`namespace ${netns}`);
    await addNetns(local, netns);
  }

  const fabric = await linkNames(lab.fabricNetns);
  const rootLines: string[] = [];
  const fabricLines: string[] = [];
  if (!fabric.has(lab.underlaySwitch)) {
    fabricLines.push(`link add ${lab.underlaySwitch} mtu ${UNDERLAY_MTU} type bridge`, `link set ${lab.underlaySwitch} up`);
  }
  const hostLines = new Map<LabHost, string[]>();
  for (const host of lab.hosts) {
    const links = await linkNames(host.netns);
    const lines: string[] = [];
    if (!links.has(host.underlayLink)) {
      rootLines.push(`link add ${host.underlayLink} netns ${host.netns} mtu ${UNDERLAY_MTU} type veth peer name ${host.fabricLink} netns ${lab.fabricNetns} mtu ${UNDERLAY_MTU}`);
      fabricLines.push(`link set ${host.fabricLink} master ${lab.underlaySwitch} up`);
      lines.push(`link set ${host.underlayLink} up`);
    }
    const vfs = vfLinks(lab, host, (await enabledVfs(host)).filter((v) => !links.has(v.representor)));
    rootLines.push(...vfs.root);
    fabricLines.push(...vfs.fabric);
    hostLines.set(host, [...lines, ...vfs.host]);
  }
  if (rootLines.length) say(`links: ${rootLines.length} veth pairs (underlay; emulated VF/representor sdn_v0.<n>)`);
  await ipBatch(local, undefined, rootLines);
  await ipBatch(local, lab.fabricNetns, fabricLines);
  for (const [host, lines] of hostLines) await ipBatch(local, host.netns, lines);

  for (const host of lab.hosts) {
    await writeSysfsTree(host);
    await startOvs(host, say);
  }
  await startEmulator(lab, say);
}

async function startEmulator(lab: Lab, say: Say): Promise<void> {
  if ((await emulatorPid(lab)) !== undefined) return;
  say("sysfs emulator (VF count, VF driver binding)");
  await rm(lab.emulatorPidfile, { force: true });
  const child = spawn(
    "ip",
    ["netns", "exec", lab.fabricNetns, process.execPath, EMULATOR, lab.name, String(lab.hosts[0].vfs.length)],
    { detached: true, stdio: "ignore" },
  );
  child.unref();
  if (!(await waitFor(async () => (await emulatorPid(lab)) !== undefined, 20_000))) {
    throw new Error(`the sysfs emulator did not start (see ${join(lab.dir, "sysfs-emulator.log")})`);
  }
}

export async function labDown(lab: Lab, say: Say): Promise<void> {
  const emulator = await emulatorPid(lab);
  if (emulator !== undefined) {
    say("sysfs emulator: stop");
    await stopPid(emulator);
  }
  for (const host of lab.hosts) await stopOvs(host);
  const present = new Set(await netnsNames(local));
  for (const netns of allNetns(lab).filter((n) => present.has(n))) {
    // Whatever still runs in the lab's own namespaces was started by a lab
    // (a crashed `up` may have left a daemon without its pidfile).
    const { stdout } = await exec(local, ["ip", "netns", "pids", netns]);
    for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) await stopPid(pid);
    say(`namespace ${netns}: delete`);
    await deleteNetns(local, netns);
  }
  await rm(lab.dir, { recursive: true, force: true });
  if (existsSync(LAB_ROOT) && (await readdir(LAB_ROOT)).length === 0) await rmdir(LAB_ROOT);
}

export interface HostStatus {
  host: string;
  netns: boolean;
  daemons: Record<(typeof OVS_DAEMONS)[number], number | undefined>;
  /** The emulated PF's sriov_numvfs: the VFs that exist. */
  numVfs: number;
  boundVfs: string[];
}

export interface LabStatus {
  name: string;
  fabric: boolean;
  emulator: number | undefined;
  hosts: HostStatus[];
}

export async function labStatus(lab: Lab): Promise<LabStatus> {
  const present = new Set(await netnsNames(local));
  const hosts: HostStatus[] = [];
  for (const host of lab.hosts) {
    const boundVfs: string[] = [];
    const vfs = await enabledVfs(host);
    for (const vf of vfs) {
      const driver = await boundDriver(host, vf);
      if (driver) boundVfs.push(`${vf.pci}=${driver}`);
    }
    hosts.push({
      host: host.name,
      netns: present.has(host.netns),
      daemons: { "ovsdb-server": await ovsDaemonPid(host, "ovsdb-server"), "ovs-vswitchd": await ovsDaemonPid(host, "ovs-vswitchd") },
      numVfs: present.has(host.netns) ? vfs.length : 0,
      boundVfs,
    });
  }
  return { name: lab.name, fabric: present.has(lab.fabricNetns), emulator: await emulatorPid(lab), hosts };
}
