// Hostile and bad input, generated with fast-check across every resource
// kind: each one is refused by check with a failure naming the field, and
// not one command runs — checks run with a recording executor in place of the
// transport (provider/host.ts, the provider's only way to start a process).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { exec, withExecutor, type Executor } from "../../provider/host.ts";
import { providers } from "../../provider/runtime.ts";
import type { Kind } from "../../provider/loader.ts";

const host = { kind: "netns", netns: "ool-host1", ovsRundir: "/run/ovs-offload-lab/ool/host1/ovs" };
const id = (kind: string) => ({ owner: `p/s/${kind}/x/0123456789abcdef`, providerVersion: "0.2.0" });
/** The kinds with inputs to check (a StackInstance has none: it draws its own). */
type Checked = Exclude<Kind, "StackInstance">;
/** A valid input of each kind; each case corrupts one field of it. */
const valid: Record<Checked, Record<string, unknown>> = {
  OvsConfig: { host, otherConfig: { "hw-offload": "true", "dpdk-socket-mem": "1024,1024" }, ...id("OvsConfig") },
  Bridge: { host, name: "br0", datapathType: "netdev", ...id("Bridge") },
  Port: { host, bridge: "br0", name: "gre", type: "gre", options: { remote_ip: "flow" }, ofportRequest: 1, ...id("Port") },
  Meter: { host, bridge: "br0", meterId: 7, bands: [{ type: "drop", rate: 200000, burstSize: 50000 }], ...id("Meter") },
  FlowSet: { host, bridge: "br0", flows: [{ match: "in_port=7", actions: "output:1" }], ...id("FlowSet") },
  SriovPf: { host, pciAddress: "0000:04:00.0", numVfs: 4, eswitchMode: "switchdev", ...id("SriovPf") },
  VfBinding: { host, pciAddress: "0000:04:08.0", driver: "nfp_netvf", sysfsRoot: "/sys", ...id("VfBinding") },
  Netns: { host, name: "ns1", ...id("Netns") },
  NetnsLink: { host, link: "internal1", netns: "ns1", mac: "02:00:00:00:00:01", addresses: ["198.51.100.1/24"], ...id("NetnsLink") },
  Veth: { host, name: "v1", peerName: "v2", ...id("Veth") },
};

/** Each of `values` is tried (as an example), then generated picks among them. */
function every<T>(...values: T[]): fc.Arbitrary<T> & { examples: T[] } {
  return Object.assign(fc.constantFrom(...values), { examples: values });
}

const BAD_CHARS = [" ", "\t", "\n", "\0", ";", "|", "&", "$", "`", "'", '"', "\\", "/", "(", ")", "<", ">", "*", "?", "~", "#", "!", "{", "}", "é", "字", "\u{1F600}"];
/** Strings no name accepts: a bad character somewhere, or an option lookalike. */
const badToken = fc.oneof(
  fc.tuple(fc.string({ maxLength: 6 }), fc.constantFrom(...BAD_CHARS), fc.string({ maxLength: 6 })).map(([a, c, b]) => `${a}${c}${b}`),
  fc.constantFrom("--help", "-rf", "-", ".", "..", "../etc", "$(reboot)", "`id`", "a;rm -rf /", ""),
);
/** …and interface names too long for IFNAMSIZ, or that ip(8) would read as its own words. */
const IP_WORDS = ["help", "dev", "name", "type", "all", "up", "peer"];
const badName = Object.assign(fc.oneof(badToken, fc.stringMatching(/^[a-z]{16,40}$/), fc.constantFrom(...IP_WORDS)), { examples: IP_WORDS });
const badNumber = fc.oneof(fc.constantFrom(-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53), fc.integer({ max: 0 }));
const badIp = every("192.0.2.300", "1.2.3", "::g", "198.51.100.1/33", "198.51.100.1; reboot", "localhost", "");
const badMac = every("02:00:00:00:00", "GG:00:00:00:00:01", "02-00-00-00-00-01", "02:00:00:00:00:01\n", "02:00:00:00:00:0", "--help");
const badPci = every("0000:04:08.8", "../../0000:04:08.0", "0000:4:8.0", "0000:04:08.0;reboot", "0000:04:08", "-rf");
const badPath = every(
  "/sys/../etc", "relative/sys", "/sys;rm -rf /", "/sys/$(id)", "/sys\n/etc", "", "--help",
  // Absolute and clean, but not sysfs: root would append to files under them.
  "/etc", "/", "/tmp/sys", "/sys/bus/pci", "/run/ovs-offload-lab/ool/host1", "/run/ovs-offload-lab/../../etc/sys", "/root/.ssh",
);
/** Flows with something smuggled in, or that OVS would drop or refuse. */
const badFlow = every(
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
  // Flow-mod flags, settings and statistics are not match fields: OVS takes them out, and the rest may match everything.
  { priority: 100, match: "in_port=7,send_flow_rem", actions: "output:1" },
  { match: "in_port=7,send_flow_rem", actions: "drop" },
  { match: "in_port=7,check_overlap", actions: "drop" },
  { match: "in_port=7,reset_counts", actions: "drop" },
  { match: "in_port=7,no_packet_counts", actions: "drop" },
  { match: "in_port=7,no_byte_counts", actions: "drop" },
  { match: "send_flow_rem=1,in_port=7", actions: "drop" },
  { match: "in_port=7,allow_hidden_fields", actions: "drop" },
  { match: "no_readonly_table", actions: "drop" },
  { match: "in_port=7,idle_timeout=10", actions: "drop" },
  { match: "hard_timeout=10,in_port=7", actions: "drop" },
  { match: "in_port=7,importance=5", actions: "drop" },
  { match: "in_port=7,cookie=0x1", actions: "drop" },
  { match: "in_port=7,priority=5", actions: "drop" },
  { match: "in_port=7,out_port=1", actions: "drop" },
  { match: "in_port=7,out_group=1", actions: "drop" },
  { match: "n_packets=0", actions: "drop" },
  { match: "in_port=7,n_bytes=0", actions: "drop" },
  { match: "duration=1.5s,in_port=7", actions: "drop" },
  { match: "in_port=7,idle_age=3", actions: "drop" },
  { match: "in_port=7,hard_age=3", actions: "drop" },
  // OVS's parser cuts a flow at the first "action".
  { match: "in_port=1,action", actions: "drop" },
  { match: "in_port=7,xaction", actions: "drop" },
  { match: "in_port=7,reg0=1,actionfoo=3", actions: "drop" },
  { match: "tun_metadata0=action,in_port=1", actions: "drop" },
  { match: "in_port=7,reg0=0x1,actionset_output=1", actions: "drop" },
  // A protocol word with a value, or a field twice: OVS keeps less than was written.
  { match: "tcp=80", actions: "drop" },
  { match: "ip=198.51.100.1", actions: "drop" },
  { match: "eth=1,in_port=1", actions: "drop" },
  { match: "in_port=1,in_port=2", actions: "drop" },
);
const badHost = every(
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
const cases: [Checked, string[], fc.Arbitrary<unknown>][] = [
  ["Bridge", ["name"], badName],
  ["Bridge", ["host"], badHost],
  ["Bridge", ["externalIds"], every({ "a b": "x" }, { k: 'v"' }, { k: "a=b" }, { k: "x\n" }, { k: "" }, { "a:b": "x" }, { "ovs-offload-lab.owner": "x" }, { "ovs-offload-lab.meter.7": "p/s/Meter/m" })],
  ["Bridge", ["otherConfig"], every({ "a:b": "x" }, { k: "" }, { ".k": "x" })],
  ["Bridge", ["adopt"], every<unknown>("true", 1, null, {})],
  ["Netns", ["adopt"], every<unknown>("yes", 0, [])],
  // Values are written quoted: a quote or backslash would end or escape the quoting.
  ["OvsConfig", ["otherConfig"], every({}, { "a:b": "x" }, { k: "" }, { k: 'a"b' }, { k: "a\\" }, { k: "x\n" }, { "a b": "1" })],
  ["Bridge", ["owner"], every("", "p/s", "p/s/Bridge/x y", "p/s/bridge/x", "p/s/Bridge/x;reboot", "p/s/Bridge/x/NOTHEX0000000000", "p/s/Bridge/x/0123", `p/s/Bridge/${"x".repeat(600)}`, "p/s/Bridge/x\n")],
  ["Bridge", ["providerVersion"], every("", "latest", "1.0", "0.1.0; reboot", "0.1.0\n", `0.1.0-${"x".repeat(40)}`)],
  ["Port", ["name"], badName],
  ["Port", ["bridge"], badName],
  ["Port", ["ofportRequest"], badNumber],
  ["Port", ["options"], every({ remote_ip: "flow,key=1" }, { remote_ip: "{x}" }, { "--help": "x" }, { "remote_ip:x": "flow" }, { remote_ip: "" })],
  ["Port", ["externalIds"], every({ "ovs-offload-lab.owner": "p/s/Port/q" }, { "ovs-offload-lab.x": "1" }, { virtio_relay: "" })],
  ["Meter", ["meterId"], fc.oneof(badNumber, every(0xffff0001, 2 ** 32))],
  ["Meter", ["bands"], every([], [{ type: "drop", rate: 0 }], [{ type: "remark", rate: 1 }], [{ type: "drop", rate: 1, precLevel: 2 }], [{ type: "drop", rate: 2 ** 32 }], [{ type: "drop", rate: 1, burstSize: 2 ** 32 }], [{ type: "drop", rate: 2 ** 40, burstSize: 1 }])],
  ["FlowSet", ["flows", "0"], badFlow],
  ["FlowSet", ["bridge"], badName],
  ["FlowSet", ["meters"], every([0], [-7], [1.5], [2 ** 32])],
  // The cookie comes from the owner alone: no input may set it.
  ["FlowSet", ["cookie"], every("1", "12345", "99999999999999999999999999", "0x10")],
  ["VfBinding", ["pciAddress"], badPci],
  ["VfBinding", ["sysfsRoot"], badPath],
  ["VfBinding", ["driver"], badToken],
  ["VfBinding", ["representorName"], badName],
  ["SriovPf", ["pciAddress"], badPci],
  ["SriovPf", ["sysfsRoot"], badPath],
  ["SriovPf", ["numVfs"], every<unknown>(-1, 0.5, Number.NaN, 5000, "4", null)],
  ["SriovPf", ["eswitchMode"], every<unknown>("offload", "", "switchdev; reboot", "SWITCHDEV", 1)],
  ["Netns", ["name"], fc.oneof(badToken, fc.stringMatching(/^[a-z]{65,80}$/))],
  ["NetnsLink", ["link"], badName],
  ["NetnsLink", ["mac"], badMac],
  ["NetnsLink", ["addresses", "0"], badIp],
  ["NetnsLink", ["neighbours"], badIp.map((ip) => [{ ip, mac: "02:00:00:00:00:09" }])],
  ["Veth", ["peerName"], badName],
  ["Veth", ["name"], badName],
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
  const calls: string[] = [];
  const recording: Executor = async (_host, argv) => {
    calls.push(argv.join(" "));
    return { stdout: "", stderr: "" };
  };

  test("the provider starts processes only through the transport, so the recording executor sees every command", () => {
    const dir = join(import.meta.dirname, "../../provider");
    const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    expect(files.filter((f) => /from "node:child_process"/.test(readFileSync(join(dir, f), "utf8")))).toEqual(["host.ts"]);
  });

  test(`${cases.length} fields across every kind: each listed hostile value and ${RUNS_PER_CASE} generated ones`, async () => {
    let tried = 0;
    for (const [kind, field, bad] of cases) {
      const examples = (bad as { examples?: unknown[] }).examples ?? [];
      const provider = providers[kind] as { check(olds: unknown, news: unknown): Promise<{ failures?: { property: string; reason: string }[] }> };
      expect((await provider.check({}, valid[kind])).failures ?? [], `${kind} base input`).toEqual([]);
      await withExecutor(recording, () => fc.assert(
        fc.asyncProperty(bad, async (value) => {
          tried++;
          const { failures = [] } = await provider.check({}, withField(valid[kind], field, value));
          // Refused, with the corrupted field named (or its parent, for whole-object refusals).
          expect(failures.length, `${kind}.${field.join(".")} = ${JSON.stringify(value)}`).toBeGreaterThan(0);
          expect(failures.some((f) => f.property.startsWith(field[0]) && f.reason.length > 0)).toBe(true);
        }),
        // Examples count among the runs: each listed value, then RUNS_PER_CASE generated ones.
        { numRuns: examples.length + RUNS_PER_CASE, seed: 20261130, examples: examples.map((v) => [v]) },
      ));
    }
    console.log(`hostile input: ${tried} generated inputs across ${new Set(cases.map((c) => c[0])).size} kinds refused in check; commands run: ${calls.length}`);
    expect(tried).toBeGreaterThanOrEqual(200);
    expect(calls).toEqual([]);
    // The recorder works: a command the provider runs reaches it.
    await withExecutor(recording, () => exec({ kind: "netns", netns: "ool-host1" }, ["ovs-vsctl", "show"]));
    expect(calls).toEqual(["ovs-vsctl show"]);
  });
});
