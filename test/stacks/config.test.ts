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
});
