// The built-in lab on this machine: real namespaces, real Open vSwitch, the
// emulated SmartNIC's sysfs; and the machine exactly as before after `down`.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exec, waitFor } from "../../provider/host.ts";
import { labDown, labStatus, labUp } from "../../lab/lab.ts";
import { labLayout, type LabHost, type Vf } from "../../lab/layout.ts";
import { boundDriver, pciBus } from "../../lab/sysfs.ts";
import { machineSnapshot, testLabName } from "../support/machine.ts";

const quiet = () => {};
const local = { kind: "local" } as const;

describe("lab up", () => {
  const lab = labLayout(testLabName(), 4);
  const [host1, host2, gateway] = lab.hosts;
  let before: Awaited<ReturnType<typeof machineSnapshot>>;

  beforeAll(async () => {
    before = await machineSnapshot();
    await labUp(lab, quiet);
  });
  afterAll(() => labDown(lab, quiet));

  test.each(lab.hosts.map((h) => [h.name, h] as const))("%s: its own Open vSwitch answers, with the netdev datapath", async (_name, host) => {
    const { stdout } = await exec(host.spec, ["ovs-appctl", "--timeout=5", "dpif/show"]);
    expect(stdout).toContain("netdev@ovs-netdev");
    const bridges = await exec(host.spec, ["ovs-vsctl", "--timeout=5", "list-br"]);
    expect(bridges.stdout.trim()).toBe("br-phy");
  });

  test.each([
    [host1, host2],
    [host2, gateway],
    [gateway, host1],
  ])("$name pings $underlayIp's peer over the underlay", async (from, to) => {
    const { stdout } = await exec(from.spec, ["ping", "-c", "2", "-i", "0.2", "-W", "2", to.underlayIp]);
    expect(stdout).toMatch(/2 received/);
  });

  const bus = (host: LabHost) => pciBus(host);
  // As dpdk-devbind writes sysfs: appending.
  const write = (path: string, text: string) => writeFile(path, `${text}\n`, { flag: "a" });
  const driverBecomes = async (host: LabHost, vf: Vf, driver: string | undefined) =>
    expect(await waitFor(async () => (await boundDriver(host, vf)) === driver, 10_000)).toBe(true);
  const linkIn = async (netns: string, name: string) => exec(local, ["ip", "-n", netns, "link", "show", "dev", name]).then(() => true, () => false);

  test("VFs start without a driver, their representors sdn_v0.<n> on the host", async () => {
    for (const vf of host1.vfs) {
      expect(await boundDriver(host1, vf)).toBeUndefined();
      expect(await linkIn(host1.netns, vf.representor)).toBe(true);
      expect(await linkIn(host1.netns, vf.netdev)).toBe(false);
    }
  });

  test("binding to nfp_netvf the dpdk-devbind way makes the VF netdev appear; unbinding parks it", async () => {
    const vf = host1.vfs[0];
    const dev = join(bus(host1), "devices", vf.pci);
    await write(join(dev, "driver_override"), "nfp_netvf");
    await write(join(bus(host1), "drivers_probe"), vf.pci);
    await driverBecomes(host1, vf, "nfp_netvf");
    expect(await linkIn(host1.netns, vf.netdev)).toBe(true);
    expect(existsSync(join(dev, "net", vf.netdev))).toBe(true);

    await write(join(bus(host1), "drivers", "nfp_netvf", "unbind"), vf.pci);
    await driverBecomes(host1, vf, undefined);
    expect(await linkIn(host1.netns, vf.netdev)).toBe(false);
    expect(existsSync(join(dev, "net"))).toBe(false);
    await write(join(dev, "driver_override"), "");
  });

  test("writes at the same moment to one bind or unbind file all take effect", async () => {
    // Several VfBindings on one host are deleted concurrently by the engine.
    const vfs = host1.vfs.slice(0, 2);
    await Promise.all(vfs.map((vf) => write(join(bus(host1), "drivers", "nfp_uio", "bind"), vf.pci)));
    for (const vf of vfs) await driverBecomes(host1, vf, "nfp_uio");
    await Promise.all(vfs.map((vf) => write(join(bus(host1), "drivers", "nfp_uio", "unbind"), vf.pci)));
    for (const vf of vfs) await driverBecomes(host1, vf, undefined);
  });

  test("binding to nfp_uio or vfio-pci gives no netdev; driver_override blocks other drivers", async () => {
    const vf = host2.vfs[1];
    for (const driver of ["nfp_uio", "vfio-pci"]) {
      await write(join(bus(host2), "drivers", driver, "bind"), vf.pci);
      await driverBecomes(host2, vf, driver);
      expect(await linkIn(host2.netns, vf.netdev)).toBe(false);
      await write(join(bus(host2), "drivers", driver, "unbind"), vf.pci);
      await driverBecomes(host2, vf, undefined);
    }
    await write(join(bus(host2), "devices", vf.pci, "driver_override"), "nfp_uio");
    await write(join(bus(host2), "drivers", "nfp_netvf", "bind"), vf.pci);
    await write(join(bus(host2), "drivers", "nfp_uio", "bind"), vf.pci);
    // The kernel refuses the first bind; the emulator acts in order, so the second decides.
    await driverBecomes(host2, vf, "nfp_uio");
    await write(join(bus(host2), "drivers", "nfp_uio", "unbind"), vf.pci);
    await driverBecomes(host2, vf, undefined);
    await write(join(bus(host2), "devices", vf.pci, "driver_override"), "");
  });

  test("unbinding finds the VF netdev in the namespace it was moved to", async () => {
    const vf = gateway.vfs[2];
    const app = `${lab.name}-app`;
    await exec(local, ["ip", "netns", "add", app]);
    try {
      await write(join(bus(gateway), "drivers", "nfp_netvf", "bind"), vf.pci);
      await driverBecomes(gateway, vf, "nfp_netvf");
      await exec(local, ["ip", "-n", gateway.netns, "link", "set", "dev", vf.netdev, "netns", app]);
      await write(join(bus(gateway), "drivers", "nfp_netvf", "unbind"), vf.pci);
      await driverBecomes(gateway, vf, undefined);
      expect(await linkIn(app, vf.netdev)).toBe(false);
      expect(await linkIn(lab.fabricNetns, vf.parked)).toBe(true);
    } finally {
      await exec(local, ["ip", "netns", "del", app]);
    }
  });

  test("a second up changes nothing", async () => {
    const status = await labStatus(lab);
    const lines: string[] = [];
    await labUp(lab, (l) => lines.push(l));
    expect(lines).toEqual([]);
    expect(await labStatus(lab)).toEqual(status);
  });

  test("down leaves namespaces, links, processes and run directories as before up", async () => {
    await labDown(lab, quiet);
    expect(await machineSnapshot()).toEqual(before);
    await labDown(lab, quiet); // idempotent
  });
});

describe("lab down after a killed up", () => {
  test("cleans up what the killed up had made", async () => {
    const lab = labLayout(testLabName(), 4);
    const before = await machineSnapshot();
    const up = spawn(process.execPath, [join(import.meta.dirname, "../../lab/cli.ts"), "up", "--name", lab.name, "--vfs", "4"], {
      detached: true,
      stdio: "ignore",
    });
    try {
      // Kill it half way: once the second host's database server runs.
      const pidfile = join(lab.hosts[1].ovsRundir, "ovsdb-server.pid");
      expect(await waitFor(async () => existsSync(pidfile), 60_000)).toBe(true);
    } finally {
      process.kill(-up.pid!, "SIGKILL");
    }
    const lines: string[] = [];
    await labDown(lab, (l) => lines.push(l));
    expect(lines.length).toBeGreaterThan(0);
    expect(await machineSnapshot()).toEqual(before);
  });
});
