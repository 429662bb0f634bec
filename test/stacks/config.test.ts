// The stack config schema: what is accepted, the defaults, and the messages.
import { describe, expect, test } from "vitest";
import { parseStackConfig, siteOf } from "../../stacks/config.ts";

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
