// The guest of scenario 5 (virtio-relay): Debian's cloud kernel and a busybox
// initramfs holding iperf3, built once into the cache (`node vm/image.ts`,
// run by scripts/setup) from Debian packages fetched and unpacked, never
// installed — the machine's /boot stays as it is.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { cpio, type CpioEntry } from "./cpio.ts";

/** Runs a program on this machine; its stdout. */
async function run(argv: string[], cwd?: string): Promise<string> {
  const { stdout } = await promisify(execFile)(argv[0], argv.slice(1), { cwd, timeout: 300_000, maxBuffer: 16 << 20 });
  return stdout;
}
const KERNEL_META_PACKAGE = "linux-image-cloud-amd64";
/** Modules the guest loads, dependencies resolved from each module's own modinfo. */
const GUEST_MODULES = ["virtio_pci", "virtio_net"];
/** Programs from this machine copied in with their libraries. */
const GUEST_PROGRAMS = ["/usr/bin/iperf3"];

/**
 * The guest's /init: mounts, loads the NIC's modules, configures eth0 from the
 * kernel command line (ool.ip=ADDR/LEN ool.mtu=N), then serves commands on
 * the serial console: one shell line in, its output and an end marker out
 * (vm/console.ts).
 */
const INIT = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko; done
for arg in $(cat /proc/cmdline); do
  case $arg in ool.ip=*) ip=\${arg#ool.ip=};; ool.mtu=*) mtu=\${arg#ool.mtu=};; esac
done
ip link set lo up
[ -n "$ip" ] && ip addr add "$ip" dev eth0
ip link set eth0 mtu "\${mtu:-1500}" up
stty -F /dev/ttyS0 raw -echo
echo "ool-guest ready" > /dev/ttyS0
# Commands run in a child: orphaned daemons (iperf3 -D) are reparented to
# PID 1, and their SIGCHLD would interrupt the console's read mid-line.
sh -c 'while read -r line; do eval "$line"; done' < /dev/ttyS0 > /dev/ttyS0 2>&1 &
while :; do wait; sleep 1; done
`;

export interface GuestImage {
  kernel: string;
  initramfs: string;
}

function cacheRoot(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "ovs-offload-lab");
}

/** The kernel package the meta package points at, e.g. linux-image-6.1.0-57-cloud-amd64. */
async function kernelPackage(): Promise<string> {
  const m = /Depends: (linux-image-\S+)/.exec(await run(["apt-cache", "depends", "--no-recommends", "--no-suggests", KERNEL_META_PACKAGE]));
  if (!m) throw new Error(`apt-cache knows no kernel behind ${KERNEL_META_PACKAGE}: run apt-get update`);
  return m[1];
}

/** Where the image for this kernel and this init lives; present once built. */
export async function guestImagePaths(): Promise<GuestImage & { dir: string; kernelPackage: string }> {
  const pkg = await kernelPackage();
  const id = createHash("sha256").update(JSON.stringify([pkg, INIT, GUEST_MODULES, GUEST_PROGRAMS])).digest("hex").slice(0, 12);
  const dir = join(cacheRoot(), `guest-${id}`);
  return { dir, kernelPackage: pkg, kernel: join(dir, "vmlinuz"), initramfs: join(dir, "initramfs.cpio.gz") };
}

/** A module and its dependencies, dependencies first. */
async function moduleOrder(files: Map<string, string>, names: string[], seen = new Set<string>()): Promise<string[]> {
  const order: string[] = [];
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    const file = files.get(name);
    if (!file) throw new Error(`kernel module ${name} is not in the kernel package`);
    const deps = (await run(["modinfo", "-F", "depends", file])).trim();
    order.push(...(await moduleOrder(files, deps ? deps.split(",") : [], seen)), name);
  }
  return order;
}

/** A program and the shared libraries ldd names for it. */
async function programWithLibraries(program: string): Promise<string[]> {
  const libs = [...(await run(["ldd", program])).matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]);
  return [program, ...libs];
}

export async function buildGuestImage(say: (line: string) => void): Promise<GuestImage> {
  const paths = await guestImagePaths();
  if (existsSync(paths.initramfs)) {
    say(`guest image: present in ${paths.dir}`);
    return paths;
  }
  say(`guest image: building from ${paths.kernelPackage} and busybox-static into ${paths.dir}`);
  const work = await mkdtemp(join(tmpdir(), "ool-guest-"));
  try {
    await run(["apt-get", "download", "-q", paths.kernelPackage, "busybox-static"], work);
    const unpacked = join(work, "root");
    for (const deb of (await readdir(work)).filter((f) => f.endsWith(".deb"))) await run(["dpkg-deb", "-x", join(work, deb), unpacked]);

    const kernel = (await readdir(join(unpacked, "boot"))).find((f) => f.startsWith("vmlinuz-"));
    if (!kernel) throw new Error(`${paths.kernelPackage} has no /boot/vmlinuz-*`);
    const moduleFiles = new Map<string, string>();
    for (const e of await readdir(join(unpacked, "lib/modules"), { recursive: true, withFileTypes: true })) {
      if (e.isFile() && e.name.endsWith(".ko")) moduleFiles.set(e.name.slice(0, -3).replace(/-/g, "_"), join(e.parentPath, e.name));
    }
    const modules = await moduleOrder(moduleFiles, GUEST_MODULES);

    const entries: CpioEntry[] = [];
    const dirs = new Set<string>();
    const addDir = (path: string) => {
      if (path === "." || dirs.has(path)) return;
      addDir(dirname(path));
      dirs.add(path);
      entries.push({ path, mode: 0o40755 });
    };
    const addFile = (path: string, data: Buffer, mode = 0o100755) => {
      addDir(dirname(path));
      entries.push({ path, mode, data });
    };
    addFile("init", Buffer.from(INIT));
    addFile("bin/busybox", await readFile(join(unpacked, "bin/busybox")));
    addFile("etc/modules", Buffer.from(`${modules.join("\n")}\n`), 0o100644);
    for (const m of modules) addFile(`lib/modules/${m}.ko`, await readFile(moduleFiles.get(m)!), 0o100644);
    for (const program of GUEST_PROGRAMS) {
      for (const file of await programWithLibraries(program)) {
        // Under the name the loader asks for (ldd's), with the contents of what it links to.
        addFile(file.slice(1), await readFile(file));
      }
    }
    // One image at a time: older ones (another kernel or init) go.
    for (const old of (await readdir(cacheRoot())).filter((d) => d.startsWith("guest-"))) await rm(join(cacheRoot(), old), { recursive: true, force: true });
    await mkdir(paths.dir, { recursive: true });
    await copyFile(join(unpacked, "boot", kernel), `${paths.kernel}.tmp`);
    await writeFile(`${paths.initramfs}.tmp`, gzipSync(cpio(entries)));
    await rename(`${paths.kernel}.tmp`, paths.kernel);
    await rename(`${paths.initramfs}.tmp`, paths.initramfs);
    say(`guest image: ${basename(paths.kernel)} (${kernel}), initramfs with busybox, iperf3 and ${modules.length} modules`);
    return paths;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  buildGuestImage((line) => console.log(`[setup] ${line}`)).catch((e: Error) => {
    console.error(`[setup] guest image: ${e.message}`);
    process.exit(1);
  });
}
