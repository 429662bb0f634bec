// One Open vSwitch per lab host: its own database, run directory and
// pidfiles, ovs-vswitchd inside the host's namespace with the userspace
// (netdev) datapath, since there is no openvswitch kernel module here.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { exec } from "../provider/host.ts";
import { ipBatch } from "../provider/ip.ts";
import { vsctl } from "../provider/ovs/vsctl.ts";
import type { LabHost } from "./layout.ts";
import type { Say } from "./lab.ts";
import { UNDERLAY_MTU, UNDERLAY_PHY_BRIDGE, UNDERLAY_PREFIX_LEN } from "./layout.ts";
import { runningFromPidfile, stopPid } from "./process.ts";

const SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema";
export const OVS_DAEMONS = ["ovsdb-server", "ovs-vswitchd"] as const;

const pidfile = (host: LabHost, daemon: string) => join(host.ovsRundir, `${daemon}.pid`);
const dbFile = (host: LabHost) => join(host.dir, "conf.db");

/** The pid of a running daemon of this host's OVS, if any. */
export function ovsDaemonPid(host: LabHost, daemon: (typeof OVS_DAEMONS)[number]): Promise<number | undefined> {
  // The database path (or its socket) is on the daemon's command line; that tells ours from others.
  return runningFromPidfile(pidfile(host, daemon), host.dir);
}

export async function startOvs(host: LabHost, say: Say): Promise<void> {
  await mkdir(host.ovsRundir, { recursive: true });
  const sock = `unix:${join(host.ovsRundir, "db.sock")}`;
  if (!existsSync(dbFile(host))) await exec({ kind: "local" }, ["ovsdb-tool", "create", dbFile(host), SCHEMA]);
  if ((await ovsDaemonPid(host, "ovsdb-server")) === undefined) {
    say(`${host.name}: ovsdb-server in ${host.netns}`);
    await exec(host.spec, [
      "ovsdb-server", dbFile(host),
      `--remote=p${sock}`, "--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
      `--pidfile=${pidfile(host, "ovsdb-server")}`, `--log-file=${join(host.dir, "ovsdb-server.log")}`, "--detach",
    ]);
    // No ovs-vswitchd yet to wait for.
    await exec(host.spec, vsctl([["init"]], { noWait: true }));
  }
  if ((await ovsDaemonPid(host, "ovs-vswitchd")) === undefined) {
    say(`${host.name}: ovs-vswitchd (userspace netdev datapath), underlay ${host.underlayIp} on ${UNDERLAY_PHY_BRIDGE}`);
    await exec(host.spec, [
      "ovs-vswitchd", sock,
      `--pidfile=${pidfile(host, "ovs-vswitchd")}`, `--log-file=${join(host.dir, "ovs-vswitchd.log")}`, "--detach",
    ]);
  }
  // The host's "physical" NIC: OVS userspace tunnels leave through an OVS
  // bridge that holds the tunnel endpoint address, so the underlay link sits
  // on br-phy and the address on br-phy's internal port.
  await exec(host.spec, vsctl([
    ["--may-exist", "add-br", UNDERLAY_PHY_BRIDGE],
    ["set", "Bridge", UNDERLAY_PHY_BRIDGE, "datapath_type=netdev"],
    ["set", "Interface", UNDERLAY_PHY_BRIDGE, `mtu_request=${UNDERLAY_MTU}`],
    ["--may-exist", "add-port", UNDERLAY_PHY_BRIDGE, host.underlayLink],
  ]));
  await ipBatch(host.spec, undefined, [`addr replace ${host.underlayIp}/${UNDERLAY_PREFIX_LEN} dev ${UNDERLAY_PHY_BRIDGE}`, `link set ${UNDERLAY_PHY_BRIDGE} up`]);
}

/**
 * Restarts this host's ovs-vswitchd, as a service manager's restart would:
 * stopped by its pid, started again as `startOvs` starts it (which also puts
 * br-phy's underlay address back: br-phy's port goes with the process). The
 * database stays (bridges, ports, other_config, read anew at start); OpenFlow
 * flows and meters, held only by ovs-vswitchd, are gone. Returns both pids.
 */
export async function restartVswitchd(host: LabHost, say: Say): Promise<{ stopped?: number; started: number }> {
  const stopped = await ovsDaemonPid(host, "ovs-vswitchd");
  if (stopped !== undefined) await stopPid(stopped);
  await startOvs(host, say);
  const started = await ovsDaemonPid(host, "ovs-vswitchd");
  if (started === undefined) throw new Error(`${host.name}: ovs-vswitchd did not stay up after its restart (see ${join(host.dir, "ovs-vswitchd.log")})`);
  return { stopped, started };
}

/** Stops this host's OVS daemons (vswitchd first), by pidfile. */
export async function stopOvs(host: LabHost): Promise<void> {
  for (const daemon of [...OVS_DAEMONS].reverse()) {
    const pid = await ovsDaemonPid(host, daemon);
    if (pid !== undefined) await stopPid(pid);
  }
}
