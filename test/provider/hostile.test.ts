// Hostile and bad input, generated with fast-check across every resource
// kind: each one is refused by check with a failure naming the field, and
// not one command runs — every program the provider could call is replaced,
// for the duration, by a recording stand-in on PATH.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exec } from "../../provider/host.ts";
import { providers } from "../../provider/runtime.ts";
import type { Kind } from "../../provider/loader.ts";

const host = { kind: "netns", netns: "ool-host1", ovsRundir: "/run/ovs-offload-lab/ool/host1/ovs" };
const id = (kind: string) => ({ owner: `p/s/${kind}/x`, providerVersion: "0.1.0" });
/** A valid input of each kind; each case corrupts one field of it. */
const valid: Record<Kind, Record<string, unknown>> = {
  Bridge: { host, name: "br0", datapathType: "netdev", ...id("Bridge") },
  Port: { host, bridge: "br0", name: "gre", type: "gre", options: { remote_ip: "flow" }, ofportRequest: 1, ...id("Port") },
  Meter: { host, bridge: "br0", meterId: 7, bands: [{ type: "drop", rate: 200000, burstSize: 50000 }], ...id("Meter") },
  FlowSet: { host, bridge: "br0", cookie: "12345", flows: [{ match: "in_port=7", actions: "output:1" }], ...id("FlowSet") },
  VfBinding: { host, pciAddress: "0000:04:08.0", driver: "nfp_netvf", sysfsRoot: "/sys", ...id("VfBinding") },
  Netns: { host, name: "ns1", ...id("Netns") },
  NetnsLink: { host, link: "internal1", netns: "ns1", mac: "02:00:00:00:00:01", addresses: ["198.51.100.1/24"], ...id("NetnsLink") },
  Veth: { host, name: "v1", peerName: "v2", ...id("Veth") },
};

const BAD_CHARS = [" ", "\t", "\n", "\0", ";", "|", "&", "$", "`", "'", '"', "\\", "/", "(", ")", "<", ">", "*", "?", "~", "#", "!", "{", "}", "é", "字", "\u{1F600}"];
/** Strings no name accepts: a bad character somewhere, or an option lookalike. */
const badToken = fc.oneof(
  fc.tuple(fc.string({ maxLength: 6 }), fc.constantFrom(...BAD_CHARS), fc.string({ maxLength: 6 })).map(([a, c, b]) => `${a}${c}${b}`),
  fc.constantFrom("--help", "-rf", "-", ".", "..", "../etc", "$(reboot)", "`id`", "a;rm -rf /", ""),
);
/** …and interface names too long for IFNAMSIZ. */
const badName = fc.oneof(badToken, fc.stringMatching(/^[a-z]{16,40}$/));
const badNumber = fc.oneof(fc.constantFrom(-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53), fc.integer({ max: 0 }));
const badIp = fc.constantFrom("192.0.2.300", "1.2.3", "::g", "198.51.100.1/33", "198.51.100.1; reboot", "localhost", "");
const badMac = fc.constantFrom("02:00:00:00:00", "GG:00:00:00:00:01", "02-00-00-00-00-01", "02:00:00:00:00:01\n", "02:00:00:00:00:0", "--help");
const badPci = fc.constantFrom("0000:04:08.8", "../../0000:04:08.0", "0000:4:8.0", "0000:04:08.0;reboot", "0000:04:08", "-rf");
const badPath = fc.constantFrom("/sys/../etc", "relative/sys", "/sys;rm -rf /", "/sys/$(id)", "/sys\n/etc", "", "--help");
/** Flows with something smuggled in, or that OVS would drop or refuse. */
const badFlow = fc.constantFrom(
  { match: "in_port=1 actions=drop", actions: "output:2" },
  { match: "in_port=1,actions=drop", actions: "output:2" },
  { match: "in_port=1", actions: "output:2 ; reboot" },
  { match: "in_port=1", actions: "output:2,$(reboot)" },
  { match: "in_port=1", actions: "ct(commit" },
  { match: "nw_dst=198.51.100.1", actions: "drop" },
  { match: "tp_dst=80", actions: "drop" },
  { match: "in_port=1", actions: "ct(commit,zone=1)" },
  { match: "table=3,in_port=1", actions: "drop" },
  { match: "in_port=1\nin_port=2", actions: "drop" },
  { match: "in_port=1", actions: "" },
  { match: "in_port='1'", actions: "drop" },
);
const badHost = fc.constantFrom(
  { kind: "netns", netns: "ns1; reboot" },
  { kind: "netns", netns: "--help" },
  { kind: "ssh", address: "-oProxyCommand=reboot", user: "root" },
  { kind: "ssh", address: "host.example", user: "root; reboot" },
  { kind: "ssh", address: "host.example", user: "root", identityFile: "../key" },
  { kind: "ssh", address: "host.example", user: "root", hostKey: "ssh-ed25519 AAAA\nmalicious" },
  { kind: "local", extra: "x" },
  { kind: "telnet" },
);

/** Per kind: the field each generator corrupts (a path into the input). */
const cases: [Kind, string[], fc.Arbitrary<unknown>][] = [
  ["Bridge", ["name"], badName],
  ["Bridge", ["host"], badHost],
  ["Bridge", ["externalIds"], fc.constantFrom({ "a b": "x" }, { k: 'v"' }, { k: "a=b" }, { k: "x\n" }, { "ovs-offload-lab.owner": "x" })],
  ["Port", ["name"], badName],
  ["Port", ["bridge"], badName],
  ["Port", ["ofportRequest"], badNumber],
  ["Port", ["options"], fc.constantFrom({ remote_ip: "flow,key=1" }, { remote_ip: "{x}" }, { "--help": "x" })],
  ["Meter", ["meterId"], fc.oneof(badNumber, fc.constantFrom(0xffff0001, 2 ** 32))],
  ["Meter", ["bands"], fc.constantFrom([], [{ type: "drop", rate: 0 }], [{ type: "remark", rate: 1 }], [{ type: "drop", rate: 1, precLevel: 2 }])],
  ["FlowSet", ["flows", "0"], badFlow],
  ["FlowSet", ["bridge"], badName],
  ["FlowSet", ["meters"], fc.constantFrom([0], [-7], [1.5], [2 ** 32])],
  ["VfBinding", ["pciAddress"], badPci],
  ["VfBinding", ["sysfsRoot"], badPath],
  ["VfBinding", ["driver"], badToken],
  ["Netns", ["name"], fc.oneof(badToken, fc.stringMatching(/^[a-z]{65,80}$/))],
  ["NetnsLink", ["link"], badName],
  ["NetnsLink", ["mac"], badMac],
  ["NetnsLink", ["addresses", "0"], badIp],
  ["NetnsLink", ["neighbours"], badIp.map((ip) => [{ ip, mac: "02:00:00:00:00:09" }])],
  ["Veth", ["peerName"], badName],
  ["Veth", ["mtu"], badNumber],
];
const RUNS_PER_CASE = 12;

function withField(input: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(input);
  let at: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  at[path.at(-1)!] = value;
  return copy;
}

describe("hostile input is refused in check, and nothing runs", () => {
  let bin: string;
  let log: string;
  let path: string | undefined;
  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), "ool-recording-host-"));
    log = join(bin, "calls.log");
    writeFileSync(log, "");
    for (const program of ["ip", "ovs-vsctl", "ovs-ofctl", "ovs-appctl", "ssh", "tee", "cat", "ls", "readlink", "ethtool", "sh", "bash", "env"]) {
      writeFileSync(join(bin, program), `#!/bin/sh\necho "${program} $*" >> ${log}\n`);
      chmodSync(join(bin, program), 0o755);
    }
    path = process.env.PATH;
    process.env.PATH = bin;
  });
  afterAll(() => {
    process.env.PATH = path;
    rmSync(bin, { recursive: true, force: true });
  });

  test(`${cases.length} fields across every kind, ${RUNS_PER_CASE} generated values each`, async () => {
    let tried = 0;
    for (const [kind, field, bad] of cases) {
      const provider = providers[kind] as { check(olds: unknown, news: unknown): Promise<{ failures?: { property: string; reason: string }[] }> };
      expect((await provider.check({}, valid[kind])).failures ?? [], `${kind} base input`).toEqual([]);
      await fc.assert(
        fc.asyncProperty(bad, async (value) => {
          tried++;
          const { failures = [] } = await provider.check({}, withField(valid[kind], field, value));
          // Refused, with the corrupted field named (or its parent, for whole-object refusals).
          expect(failures.length, `${kind}.${field.join(".")} = ${JSON.stringify(value)}`).toBeGreaterThan(0);
          expect(failures.some((f) => f.property.startsWith(field[0]) && f.reason.length > 0)).toBe(true);
        }),
        { numRuns: RUNS_PER_CASE, seed: 20261130 },
      );
    }
    const calls = readFileSync(log, "utf8");
    console.log(`hostile input: ${tried} generated inputs across ${new Set(cases.map((c) => c[0])).size} kinds refused in check; commands run: ${calls.split("\n").filter(Boolean).length}`);
    expect(tried).toBeGreaterThanOrEqual(200);
    expect(calls).toBe("");
    // The recorder works: a command the provider's transport runs is in the log.
    await exec({ kind: "netns", netns: "ool-host1" }, ["ovs-vsctl", "show"]);
    expect(readFileSync(log, "utf8")).toBe("ip netns exec ool-host1 ovs-vsctl show\n");
  });
});
