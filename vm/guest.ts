// A QEMU guest of scenario 5 and, for the offload variant, its virtio-relay
// emulation: started with pidfiles in the guest's own directory, stopped by
// pid, the directory removed. Everything a guest has lives in that directory
// (pidfiles, console socket, NIC socket), so stop leaves nothing behind.
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { exec, ignoring, waitFor, type HostSpec } from "../provider/host.ts";
import { runningFromPidfile, stopPid } from "../lab/process.ts";
import { waitForGuest } from "./console.ts";
import { buildGuestImage } from "./image.ts";

/** The guest runs emulated (TCG, no KVM here): seconds on an idle machine, over a minute on one busy with other labs. */
const BOOT_TIMEOUT_MS = 180_000;
const RELAY = join(import.meta.dirname, "relay.py");

export interface GuestSpec {
  /** Where the guest's files live; made by start, removed by stop. */
  dir: string;
  /** The namespace QEMU runs in (a lab host's), where its tap appears. */
  host: HostSpec;
  mac: string;
  /** The guest's address with prefix length, and its MTU. */
  address: string;
  mtu: number;
  /** The NIC's backend: a tap on the host (classic), or a unix socket a relay connects to (offload). */
  nic: { tap: string } | { relaySocket: true };
  /** "kvm" only where KVM really works; TCG otherwise. */
  accel?: "tcg" | "kvm";
}

export const guestFiles = (dir: string) => ({
  pidfile: join(dir, "qemu.pid"),
  console: join(dir, "console.sock"),
  nicSocket: join(dir, "nic.sock"),
  relayPidfile: join(dir, "relay.pid"),
});

/** QEMU's argv. Without a vnet header the guest's virtio NIC computes its own checksums, as OVS's userspace datapath needs. */
export function qemuArgv(g: GuestSpec, image: { kernel: string; initramfs: string }): string[] {
  const f = guestFiles(g.dir);
  const netdev = "tap" in g.nic
    ? `tap,id=n0,ifname=${g.nic.tap},script=no,downscript=no,vnet_hdr=off`
    : `stream,id=n0,server=on,addr.type=unix,addr.path=${f.nicSocket}`;
  return [
    "qemu-system-x86_64", "-accel", g.accel ?? "tcg", "-m", "256", "-smp", "1",
    "-nographic", "-nodefaults", "-no-user-config", "-no-reboot",
    "-kernel", image.kernel, "-initrd", image.initramfs,
    "-append", `console=ttyS0 quiet panic=-1 ool.ip=${g.address} ool.mtu=${g.mtu}`,
    "-chardev", `socket,id=con,path=${f.console},server=on,wait=off`, "-serial", "chardev:con",
    "-netdev", netdev, "-device", `virtio-net-pci,netdev=n0,mac=${g.mac},romfile=`,
    "-daemonize", "-pidfile", f.pidfile,
  ];
}

/** Starts the guest (idempotent) and waits until it answers on its console. */
export async function startGuest(g: GuestSpec): Promise<void> {
  const f = guestFiles(g.dir);
  if ((await runningFromPidfile(f.pidfile, "qemu-system-x86")) === undefined) {
    await mkdir(g.dir, { recursive: true });
    await exec(g.host, qemuArgv(g, await buildGuestImage(() => {})));
  }
  // QEMU makes the tap but leaves it down (script=no).
  if ("tap" in g.nic) await exec(g.host, ["ip", "link", "set", "dev", g.nic.tap, "up"]);
  await waitForGuest(f.console, BOOT_TIMEOUT_MS);
}

/**
 * Starts the relay between the guest's NIC socket and the VF, which is parked
 * (bound to nfp_uio) as `vfLink` in namespace `vfNetns`: EMULATION of
 * Netronome's virtio-relay, a userspace forwarder with one end on the VF and
 * the other the guest's NIC backend.
 */
export async function startRelay(dir: string, vfNetns: string, vfLink: string): Promise<void> {
  const f = guestFiles(dir);
  if ((await runningFromPidfile(f.relayPidfile, "relay.py")) !== undefined) return;
  const inFabric = { kind: "netns", netns: vfNetns } as const;
  await exec(inFabric, ["ip", "link", "set", "dev", vfLink, "up"]);
  await exec(inFabric, ["python3", RELAY, "--link", vfLink, "--socket", f.nicSocket, "--pidfile", f.relayPidfile]);
  if (!(await waitFor(() => runningFromPidfile(f.relayPidfile, "relay.py").then((p) => p !== undefined), 5000))) {
    throw new Error(`the relay between ${vfLink} and ${f.nicSocket} did not start`);
  }
}

/** Stops the relay (if any) and the guest by their pids, and removes the guest's directory. */
export async function stopGuest(dir: string, relayVf?: { netns: string; link: string }): Promise<void> {
  const f = guestFiles(dir);
  for (const [pidfile, comm] of [[f.relayPidfile, "relay.py"], [f.pidfile, "qemu-system-x86"]] as const) {
    const pid = await runningFromPidfile(pidfile, comm);
    if (pid !== undefined) await stopPid(pid);
  }
  if (relayVf && existsSync(`/run/netns/${relayVf.netns}`)) {
    // The link may have gone (its VF unbound), or its namespace since the check.
    await exec({ kind: "netns", netns: relayVf.netns }, ["ip", "link", "set", "dev", relayVf.link, "down"]).catch(ignoring("not-found", "unreachable"));
  }
  await rm(dir, { recursive: true, force: true });
}
