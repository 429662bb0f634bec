// Scenario 5 on "real hosts": the lab's hosts reached over SSH (a real sshd
// in host1's namespace), and guests the user brings — here a namespace per
// host behind a link named vnet1 on that host, standing for the VM's tap, and
// reached over the same SSH (the spec's netns: the guest's namespace). The
// stack does the OVS side alone; verify runs ping and iperf3 inside the
// guests over SSH; destroy leaves the hosts as they were and the guests there.
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { exec, ignoring, timed, waitFor } from "../../provider/host.ts";
import { openStack, operate, scenarioOutputs } from "../../runner/stacks.ts";
import { verify } from "../../runner/verify.ts";
import { hostSnapshot, testLabName } from "../support/machine.ts";
import { projectCopy, type ProjectCopy } from "../support/project.ts";
import { startSshd, type TestSshd } from "../support/sshd.ts";

const lab = labLayout(testLabName(), 1);
const [host1, host2] = lab.hosts;
const local = { kind: "local" } as const;
const guests = [host1, host2].map((host, i) => ({ host, netns: `${lab.name}-g${i + 1}`, address: `198.51.100.${i + 1}` }));
// Not the lab's passphrase: a stack on real hosts refuses that one.
const envVars = { PULUMI_CONFIG_PASSPHRASE: randomBytes(16).toString("hex") };
const name = "vr-ssh";
let sshd: TestSshd;
let project: ProjectCopy;

beforeAll(async () => {
  await labUp(lab, () => {});
  sshd = await startSshd(host1);
  for (const g of guests) {
    // The guest's NIC and its host's end; the guest computes its checksums, as a VM's virtio NIC does behind a tap without a vnet header.
    await exec(local, ["ip", "netns", "add", g.netns]);
    await exec(local, ["ip", "link", "add", "vnet1", "netns", g.host.netns, "type", "veth", "peer", "name", "eth0", "netns", g.netns]);
    await exec(g.host.spec, ["ip", "link", "set", "vnet1", "up"]);
    const inGuest = { kind: "netns", netns: g.netns } as const;
    await exec(inGuest, ["ethtool", "-K", "eth0", "tx", "off"]);
    await exec(inGuest, ["ip", "addr", "add", `${g.address}/24`, "dev", "eth0"]);
    await exec(inGuest, ["ip", "link", "set", "eth0", "mtu", "1450", "up"]);
  }
  project = await projectCopy();
  const site = (h: typeof host1) => ({ host: sshd.spec({ port: 22, netns: h.netns, ovsRundir: h.ovsRundir }), underlayIp: h.underlayIp, datapathType: "netdev", sysfsRoot: h.sysfs });
  const side = (g: (typeof guests)[number]) => ({ tap: "vnet1", guest: { address: g.address, ssh: sshd.spec({ netns: g.netns, ovsRundir: undefined }) } });
  const config = {
    scenario: "virtio-relay", variant: "classic",
    hosts: { host1: site(host1), host2: site(host2) },
    virtioRelay: { host1: side(guests[0]), host2: side(guests[1]) },
  };
  await writeFile(join(project.dir, "stacks", `Pulumi.${name}.yaml`), `config:\n${Object.entries(config).map(([k, v]) => `  ovs-offload-lab:${k}: ${JSON.stringify(v)}\n`).join("")}`);
});
afterAll(async () => {
  await project?.remove();
  for (const g of guests) await exec(local, ["ip", "netns", "delete", g.netns]).catch(ignoring("not-found"));
  await sshd?.stop();
  await labDown(lab, () => {});
});

test("classic with the user's guests: up, verify inside the guests over SSH, destroy: the hosts as before", async () => {
  const snapshot = () => Promise.all([host1, host2].map((h) => hostSnapshot(h.spec)));
  const before = await snapshot();
  const { stack } = await openStack(name, { workDir: project.dir, envVars });
  try {
    const [, upSeconds] = await timed(() => operate(stack, "up"));
    const outputs = await scenarioOutputs(stack);
    expect(outputs.endpoints.vm1).toEqual({ exec: sshd.spec({ netns: guests[0].netns, ovsRundir: undefined }), address: "198.51.100.1" });
    expect(outputs.processes).toEqual([]);
    const [results, verifySeconds] = await timed(() => verify(outputs, console.log));
    console.log(`${name}: up ${upSeconds.toFixed(1)} s, verify ${verifySeconds.toFixed(1)} s`);
    expect(results.map((r) => `${r.status} ${r.expectation.kind}`)).toEqual(["passed reaches", "passed throughput", "passed flowPackets"]);
    // The iperf3 server verify started in vm2 was stopped by its pid: nothing is left running in the guests.
    const idle = async () => (await Promise.all(guests.map((g) => exec(local, ["ip", "netns", "pids", g.netns])))).every((r) => r.stdout.trim() === "");
    expect(await waitFor(idle, 5000)).toBe(true);
  } finally {
    await operate(stack, "destroy");
  }
  expect(await snapshot()).toEqual(before);
});
