// Scenario 5 on real hosts, through the real engine: the guests and relays
// are the user's (config virtioRelay), so the plan is the OVS/VF side alone —
// br0, the tap or the relay VF's binding and representor, the flows — and no
// VM or relay; without virtioRelay the preview is refused, naming each key it
// lacks. The hosts are RFC 5737 addresses nobody answers: preview runs no command.
import { execFile } from "node:child_process";
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { previewText } from "../../runner/stacks.ts";
import { GUEST_SIDE_NEEDS } from "../../stacks/config.ts";
import { projectCopy, type ProjectCopy } from "../support/project.ts";

const run = promisify(execFile);
// Not the lab's passphrase: a stack on real hosts refuses that one.
const envVars = { PULUMI_CONFIG_PASSPHRASE: "a phrase of the rack's own" };
const rack = (ip: string, vf21: unknown) => ({ host: { kind: "ssh", address: ip, user: "root" }, underlayIp: ip, vfs: { "21": vf21 } });
const hosts = { host1: rack("192.0.2.10", "0000:81:0a.5"), host2: rack("192.0.2.11", { pciAddress: "0000:81:0a.5", representor: "eth21" }) };
const guest = (address: string, ssh: string) => ({ address, ssh: { kind: "ssh", address: ssh, user: "root", identityFile: "/root/.ssh/id_ed25519" } });
/** One block for both variants: the classic reads the taps, the offload the relay VFs. */
const virtioRelay = {
  host1: { tap: "vnet1", relayVf: 21, guest: guest("198.51.100.1", "203.0.113.21") },
  host2: { tap: "vnet3", relayVf: 21, relayDriver: "vfio-pci", guest: guest("198.51.100.2", "203.0.113.22"), relayPidfile: "/run/virtio-forwarder.pid" },
};

let project: ProjectCopy;
beforeAll(async () => {
  project = await projectCopy();
});
afterAll(async () => {
  await project?.remove();
});

/** A stack of the copy with this config; its preview as text (runner/preview.ts). */
async function preview(stack: string, config: Record<string, unknown>): Promise<string> {
  await run("pulumi", ["stack", "init", stack, "--non-interactive"], { cwd: project.dir, env: { ...process.env, ...envVars } });
  const lines = Object.entries(config).map(([key, value]) => `  ovs-offload-lab:${key}: ${JSON.stringify(value)}\n`);
  await appendFile(join(project.dir, "stacks", `Pulumi.${stack}.yaml`), `config:\n${lines.join("")}`);
  return previewText(stack, { workDir: project.dir, envVars });
}

/** The step lines of the text (`create Port host1-vm1-port`) and each one's inputs, indented. */
const step = (text: string, header: string) => {
  const at = text.split("\n").findIndex((l) => l === header);
  if (at < 0) throw new Error(`no step ${header} in:\n${text}`);
  const body = text.split("\n").slice(at + 1);
  return body.slice(0, body.findIndex((l) => !l.startsWith("    "))).join("\n");
};
const kinds = (text: string) => text.split("\n").filter((l) => /^create /.test(l)).map((l) => l.split(" ").slice(1).join(" ")).sort();

test.concurrent("classic: the guests' taps on br0 and the flows; no VM started", async () => {
  const text = await preview("vr-rack-classic", { scenario: "virtio-relay", variant: "classic", hosts, virtioRelay });
  expect(kinds(text)).toEqual([
    "Bridge host1-br0", "Bridge host2-br0", "FlowSet host1-flows", "FlowSet host2-flows",
    "Port host1-gre", "Port host1-vm1-port", "Port host2-gre", "Port host2-vm2-port", "StackInstance ovs-offload-lab-instance",
    "ovs-offload-lab:stack:Host host1", "ovs-offload-lab:stack:Host host2", "pulumi:pulumi:Stack ovs-offload-lab-vr-rack-classic",
  ]);
  expect(step(text, "create Port host1-vm1-port")).toMatch(/name: "vnet1"[\s\S]*ofportRequest: 31/);
  expect(step(text, "create Port host2-vm2-port")).toMatch(/name: "vnet3"/);
  expect(step(text, "create Port host1-vm1-port")).toMatch(/host: \{"address":"192\.0\.2\.10","kind":"ssh","user":"root"\}/);
  expect(step(text, "create FlowSet host1-flows")).toContain('{"actions":"set_tunnel:3000,set_field:192.0.2.11->tun_dst,output:1","match":"in_port=31",');
});

test.concurrent("offload: the relay VFs bound to the relays' drivers, their representors on br0 marked virtio_relay=1; no VM, no relay", async () => {
  const text = await preview("vr-rack-offload", { scenario: "virtio-relay", variant: "offload", hosts, virtioRelay });
  expect(kinds(text)).not.toContainEqual(expect.stringMatching(/Command/));
  expect(kinds(text)).toEqual(expect.arrayContaining(["VfBinding host1-vm1-vf", "VfBinding host2-vm2-vf", "Port host1-vm1-port", "Port host2-vm2-port"]));
  expect(step(text, "create VfBinding host1-vm1-vf")).toMatch(/driver: "nfp_uio"[\s\S]*pciAddress: "0000:81:0a\.5"/);
  expect(step(text, "create VfBinding host2-vm2-vf")).toMatch(/driver: "vfio-pci"/);
  // host1's representor is found in sysfs once bound; host2's is named in the config, so known now.
  expect(step(text, "create Port host1-vm1-port")).toMatch(/externalIds: \{"virtio_relay":"1"\}[\s\S]*name: \[unknown\][\s\S]*ofportRequest: 41/);
  expect(step(text, "create Port host2-vm2-port")).toMatch(/name: "eth21"/);
  expect(step(text, "create FlowSet host2-flows")).toContain('{"actions":"output:41","match":"in_port=1,tun_src=192.0.2.10,tun_id=4000",');
});

test.concurrent("on real hosts without virtioRelay the preview is refused, naming what is missing and what each is for", async () => {
  const refused = await preview("vr-rack-bare", { scenario: "virtio-relay", variant: "offload", hosts }).then(
    (text) => `previewed:\n${text}`,
    (err: Error) => err.message,
  );
  expect(refused).toMatch(/ovs-offload-lab:virtioRelay: missing: on real hosts the stack starts no VM and no relay/);
  for (const role of ["host1", "host2"]) {
    for (const key of ["relayVf", "guest.address", "guest.ssh"] as const) expect(refused).toContain(`ovs-offload-lab:virtioRelay.${role}.${key}: missing: ${GUEST_SIDE_NEEDS[key]}`);
  }
  expect(refused).not.toMatch(/^\s+at .*\.ts:\d+/m);
});
