// What a test may change on the machine, as comparable data: namespaces,
// links, the lab's daemons and files. Compared before and after.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { exec, type HostSpec } from "../../provider/host.ts";
import { labStatus } from "../../lab/lab.ts";
import { LAB_ROOT, type Lab } from "../../lab/layout.ts";
import { cmdline } from "../../lab/process.ts";
import { netnsNames } from "../../provider/ip.ts";
import { dumpFlowsArgv } from "../../provider/ovs/ofctl.ts";
import { procStat } from "../../provider/proc.ts";

const local = { kind: "local" } as const;
const DAEMONS = new Set(["ovsdb-server", "ovs-vswitchd"]);

/** A lab name of its own for each test file, so a user's lab is never touched. */
export function testLabName(): string {
  return `t${randomBytes(3).toString("hex")}`;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.map((e) => relative(LAB_ROOT, join(e.parentPath, e.name))).sort();
}

/** Live (not zombie) OVS daemons and sysfs emulators, as "pid name". */
async function labProcesses(): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir("/proc")).filter((d) => /^\d+$/.test(d))) {
    const stat = procStat(Number(pid));
    const argv = stat && stat.state !== "Z" ? await cmdline(Number(pid)) : undefined; // undefined: exited while we looked
    if (stat && argv && (DAEMONS.has(stat.comm) || argv.some((a) => a.includes("sysfs-emulator")))) found.push(`${pid} ${stat.comm}`);
  }
  return found.sort();
}

export async function machineSnapshot() {
  const links = JSON.parse((await exec(local, ["ip", "-j", "link", "show"])).stdout) as { ifname: string; mtu: number }[];
  return {
    netns: (await netnsNames(local)).sort(),
    links: links.map((l) => `${l.ifname} mtu ${l.mtu}`).sort(),
    processes: await labProcesses(),
    labFiles: existsSync(LAB_ROOT) ? await listFiles(LAB_ROOT) : "absent",
  };
}

/** What a lab host looks like to OVS and the kernel, for before/after comparisons. */
export async function hostSnapshot(host: HostSpec) {
  const run = async (argv: string[]) => (await exec(host, argv)).stdout;
  const bridges = (await run(["ovs-vsctl", "--timeout=5", "list-br"])).split("\n").filter(Boolean);
  const flows: Record<string, string> = {};
  const meters: Record<string, string> = {};
  for (const br of bridges) {
    flows[br] = await run(dumpFlowsArgv(br));
    meters[br] = await run(["ovs-ofctl", "-O", "OpenFlow13", "dump-meters", br]);
  }
  const links = JSON.parse(await run(["ip", "-j", "link", "show"])) as { ifname: string; mtu: number; operstate: string }[];
  const addrs = JSON.parse(await run(["ip", "-j", "addr", "show"])) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[];
  return {
    ovs: await run(["ovs-vsctl", "--timeout=5", "show"]),
    bridgeExternalIds: await run(["ovs-vsctl", "--timeout=5", "--columns=name,external_ids", "list", "Bridge"]),
    flows,
    meters,
    links: links.map((l) => `${l.ifname} mtu ${l.mtu}`).sort(),
    addrs: addrs.flatMap((a) => a.addr_info.map((i) => `${a.ifname} ${i.local}/${i.prefixlen}`)).sort(),
    // Both families, every table; the kernel's own routes follow the addresses (and IPv6 ones appear late, after DAD).
    routes: (await run(["ip", "route", "show", "table", "all"])).split("\n").filter((r) => r && !r.includes(" proto kernel ")).sort(),
  };
}

/**
 * A whole lab, for teardown checks: its namespaces, every host's snapshot,
 * the emulated VFs' drivers, and what runs in its namespaces or from its
 * files (OVS, guests, relays).
 */
export async function labSnapshot(lab: Lab) {
  const namespaces = (await netnsNames(local)).filter((n) => n.startsWith(`${lab.name}-`)).sort();
  const processes = new Map<number, string>();
  const running = (pid: number) => {
    const stat = procStat(pid);
    if (stat && stat.state !== "Z") processes.set(pid, stat.comm);
  };
  for (const netns of namespaces) {
    for (const pid of (await exec(local, ["ip", "netns", "pids", netns])).stdout.split(/\s+/).filter(Boolean)) running(Number(pid));
  }
  for (const pid of (await readdir("/proc")).filter((d) => /^\d+$/.test(d))) {
    if ((await cmdline(Number(pid)))?.some((a) => a.includes(`${lab.dir}/`))) running(Number(pid));
  }
  return {
    namespaces,
    hosts: await Promise.all(lab.hosts.map((h) => hostSnapshot(h.spec))),
    vfDrivers: (await labStatus(lab)).hosts.map((h) => `${h.host}: ${h.boundVfs.join(" ")}`),
    // By name: a test may restart OVS, and pids change.
    processes: [...processes.values()].sort(),
  };
}
