// The stack config schema: what is accepted, the defaults, and the messages.
import { describe, expect, test } from "vitest";
import { GUEST_SIDE_NEEDS, parseStackConfig, siteOf } from "../../stacks/config.ts";

const parse = (raw: Record<string, unknown>) => parseStackConfig(raw, "ovs-offload-lab");

describe("stack config", () => {
  test("the lab by default, its hosts and namespace prefix", () => {
    const config = parse({ scenario: "meter", variant: "offload" });
    expect(config).toEqual({ scenario: "meter", variant: "offload", lab: "ool", innerMtu: 1450 });
    const site = siteOf(config);
    expect(site.netnsPrefix).toBe("ool-");
    expect(site.hosts.gateway?.spec).toEqual({ kind: "netns", netns: "ool-gateway", ovsRundir: "/run/ovs-offload-lab/ool/gateway/ovs" });
    expect(site.hosts.host1?.vfPci(21)).toBe("0000:04:0a.5");
  });

  test("real hosts over SSH, with their VFs", () => {
    const host = (ip: string) => ({ host: { kind: "ssh", address: "host.example", user: "root" }, underlayIp: ip, vfs: { "0": "0000:81:08.0" } });
    const site = siteOf(parse({ scenario: "gateway-forward", variant: "offload", hosts: { host1: host("192.0.2.10"), host2: host("192.0.2.11") } }));
    expect(site.netnsPrefix).toBe("");
    expect(site.hosts.host1).toMatchObject({ underlayIp: "192.0.2.10", datapathType: "system", sysfsRoot: "/sys" });
    expect(site.hosts.host1?.vfPci(0)).toBe("0000:81:08.0");
    expect(() => site.hosts.host1?.vfPci(1)).toThrow(/needs VF 1 on host1: set host1\.vfs\."1"/);
    expect(site.hosts.gateway).toBeUndefined();
  });

  test("every bad key is named, with its reason", () => {
    expect(() =>
      parse({ scenario: "meters", variant: "classic", innerMtu: 100000, hosts: { host1: { host: { kind: "ssh", address: "a;b", user: "root" }, underlayIp: "192.0.2.300" } } }),
    ).toThrow(
      /ovs-offload-lab:scenario: Invalid option.*\n.*ovs-offload-lab:hosts\.host1\.host\.address: must be a host name or an IP address\n.*ovs-offload-lab:hosts\.host1\.underlayIp: must be an IPv4 address\n.*ovs-offload-lab:hosts\.host2: .*\n.*ovs-offload-lab:innerMtu: .*8950/,
    );
  });

  test("a key the project does not have is refused, with the nearest one it has", () => {
    expect(() => parse({ scenario: "meter", variant: "classic", host: { host1: {} }, innerMTU: 1400 })).toThrow(
      /ovs-offload-lab:host: not a key of this project \(did you mean ovs-offload-lab:hosts\?\)\n.*ovs-offload-lab:innerMTU: not a key of this project \(did you mean ovs-offload-lab:innerMtu\?\)/,
    );
    const rack = { host: { kind: "ssh", address: "192.0.2.10", user: "root" }, underlayIp: "192.0.2.10" };
    expect(() => parse({ scenario: "meter", variant: "classic", hosts: { host1: { ...rack, underlay: "x" }, host2: rack, gatway: rack } })).toThrow(
      /ovs-offload-lab:hosts\.host1\.underlay: not a key of this project \(did you mean ovs-offload-lab:hosts\.host1\.underlayIp\?\)[\s\S]*ovs-offload-lab:hosts\.gatway: not a key of this project \(did you mean ovs-offload-lab:hosts\.gateway\?\)/,
    );
    expect(() => parse({ scenario: "meter", variant: "classic", zzz: 1 })).toThrow(/ovs-offload-lab:zzz: not a key of this project\n/);
  });
});

describe("virtio-relay on real hosts: the guests and relays the user brings (virtioRelay)", () => {
  const rack = (ip: string) => ({ host: { kind: "ssh", address: ip, user: "root" }, underlayIp: ip, vfs: { "21": "0000:81:0a.5" } });
  const hosts = { host1: rack("192.0.2.10"), host2: rack("192.0.2.11") };
  const ssh = { kind: "ssh", address: "203.0.113.21", port: 2222, user: "ool", become: "sudo", identityFile: "/root/.ssh/id_ed25519", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2hZrN" };
  const side = (address: string) => ({ tap: "vnet1", relayVf: 21, guest: { address, ssh } });
  const full = { host1: side("198.51.100.1"), host2: { ...side("198.51.100.2"), relayDriver: "vfio-pci", relayPidfile: "/run/virtio-forwarder.pid" } };
  /** The refusal's lines after the header, without the config namespace. */
  const refusal = (raw: Record<string, unknown>) => {
    try {
      parse(raw);
    } catch (err) {
      return (err as Error).message.split("\n").slice(1, -1).map((l) => l.trim().replace(/^ovs-offload-lab:/, ""));
    }
    throw new Error("accepted");
  };

  test("a complete block is accepted, the relay's driver nfp_uio by default (the seed's)", () => {
    for (const variant of ["classic", "offload"]) {
      const config = parse({ scenario: "virtio-relay", variant, hosts, virtioRelay: full });
      expect(config.virtioRelay?.host1).toEqual({ ...side("198.51.100.1"), relayDriver: "nfp_uio" });
      expect(config.virtioRelay?.host2).toMatchObject({ relayDriver: "vfio-pci", relayPidfile: "/run/virtio-forwarder.pid" });
    }
  });

  test.each([
    ["classic", "tap"],
    ["offload", "relayVf"],
  ] as const)("%s on real hosts without it is refused, every missing key named with what it is for", (variant, nic) => {
    const lines = refusal({ scenario: "virtio-relay", variant, hosts });
    expect(lines[0]).toMatch(/^virtioRelay: missing: on real hosts the stack starts no VM and no relay: it does the OVS\/VF side for the guests you bring on host1 and host2/);
    expect(lines.slice(1)).toEqual(
      ["host1", "host2"].flatMap((role) => ([nic, "guest.address", "guest.ssh"] as const).map((key) => `virtioRelay.${role}.${key}: missing: ${GUEST_SIDE_NEEDS[key]}`)),
    );
    expect(GUEST_SIDE_NEEDS.tap).toMatch(/on br0 as ofport 31/);
    expect(GUEST_SIDE_NEEDS.relayVf).toMatch(/binds it to relayDriver and puts its representor on br0 as ofport 41 with external_ids:virtio_relay=1/);
    expect(GUEST_SIDE_NEEDS["guest.ssh"]).toMatch(/how verify and measure reach the guest/);
  });

  test("a side half given: the keys it lacks, for its variant", () => {
    const { tap: _, ...offloadOnly } = side("198.51.100.1");
    expect(refusal({ scenario: "virtio-relay", variant: "classic", hosts, virtioRelay: { host1: offloadOnly } })).toEqual([
      `virtioRelay.host1.tap: missing: ${GUEST_SIDE_NEEDS.tap}`,
      ...["tap", "guest.address", "guest.ssh"].map((key) => `virtioRelay.host2.${key}: missing: ${GUEST_SIDE_NEEDS[key as keyof typeof GUEST_SIDE_NEEDS]}`),
    ]);
    expect(refusal({ scenario: "virtio-relay", variant: "offload", hosts, virtioRelay: { ...full, host2: { relayVf: 21, guest: { ssh } } } })).toEqual([
      `virtioRelay.host2.guest.address: missing: ${GUEST_SIDE_NEEDS["guest.address"]}`,
    ]);
  });

  test("bad values: the guest reached otherwise than over SSH, a relay VF the host's vfs lack, a bad address", () => {
    const bad = { ...full, host1: { relayVf: 7, guest: { address: "198.51.100.300", ssh: { kind: "local" } } }, host2: { ...full.host2, guest: { address: "198.51.100.2", ssh: { ...ssh, adress: "x" } } } };
    expect(refusal({ scenario: "virtio-relay", variant: "offload", hosts, virtioRelay: bad })).toEqual([
      "virtioRelay.host1.guest.address: must be an IPv4 address",
      "virtioRelay.host1.guest.ssh: must be of kind ssh ({ kind: ssh, address, user, … }): a guest is reached over SSH",
      "virtioRelay.host2.guest.ssh.adress: not a key of this project",
      'virtioRelay.host1.relayVf: VF 7 is not among hosts.host1.vfs: add its PCI address there (hosts.host1.vfs."7")',
    ]);
  });

  test("refused where it does not belong: on the lab, which starts its own guests, and in another scenario", () => {
    expect(refusal({ scenario: "virtio-relay", variant: "classic", virtioRelay: full })).toEqual([
      "virtioRelay: is for real hosts (hosts): on the lab the stack starts its own guests and relay (vm/): remove it, or add hosts",
    ]);
    expect(refusal({ scenario: "meter", variant: "classic", hosts, virtioRelay: full })).toEqual(["virtioRelay: only the virtio-relay scenario uses it (this stack's is meter): remove it"]);
    // The lab's virtio-relay needs none of it.
    expect(parse({ scenario: "virtio-relay", variant: "offload" }).virtioRelay).toBeUndefined();
  });
});
