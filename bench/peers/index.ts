// The same work done by three tools on one lab, alternating, in one run:
// plain ovs-vsctl/ovs-ofctl commands, Ansible's openvswitch collection and
// this provider through the real `pulumi` CLI. Each makes the topology of
// topology.ts on host1 and host2, applies it again unchanged, and removes it.
// Also Pulumi's own floor: as many dynamic resources whose provider does
// nothing. Prints medians, ratios and where the provider's time goes;
// asserts nothing.
// Usage: scripts/env node bench/peers/index.ts [--rounds N]   (root; installs
// Debian's ansible when missing; makes and removes its own lab)
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { exec, timed, type HostSpec } from "../../provider/host.ts";
import { bundleArgv, flowModLine, meterArgv } from "../../provider/ovs/ofctl.ts";
import { vsctl } from "../../provider/ovs/vsctl.ts";
import { BRIDGE, FLOWS, GRE, INTERNAL, METER } from "./topology.ts";

const REPO = join(import.meta.dirname, "../..");
const local = { kind: "local" } as const;
const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" } } });
const rounds = Number(values.rounds);

const lab = labLayout(`peer${process.pid % 1000}`, 1);
const hosts = lab.hosts.filter((h) => h.name !== "gateway");
const meter = { ...METER, burst: false, stats: false };

const PHASES_RUN = ["create", "rerun", "remove"] as const;
type Phase = (typeof PHASES_RUN)[number];

/** One tool: how it makes the topology, applies it again, removes it. */
interface Tool {
  name: string;
  create(): Promise<unknown>;
  rerun?(): Promise<unknown>;
  remove(): Promise<unknown>;
}

const plain: Tool = {
  name: "plain ovs-vsctl/ovs-ofctl",
  create: () =>
    Promise.all(
      hosts.map(async ({ spec }) => {
        await exec(
          spec,
          vsctl([
            ["add-br", BRIDGE],
            ["set", "Bridge", BRIDGE, "datapath_type=netdev", "fail_mode=secure", "protocols=OpenFlow13,OpenFlow14"],
            ["add-port", BRIDGE, GRE.name],
            ["set", "Interface", GRE.name, "type=gre", ...Object.entries(GRE.options).map(([k, v]) => `options:${k}=${v}`), `ofport_request=${GRE.ofport}`],
            ["add-port", BRIDGE, INTERNAL.name],
            ["set", "Interface", INTERNAL.name, "type=internal", `mtu_request=${INTERNAL.mtu}`, `ofport_request=${INTERNAL.ofport}`],
          ]),
        );
        await exec(spec, meterArgv("add-meter", BRIDGE, meter));
        await exec(spec, bundleArgv(BRIDGE), { stdin: FLOWS.map((flow) => flowModLine({ op: "add", flow }, "0")).join("\n") + "\n" });
      }),
    ),
  remove: () => Promise.all(hosts.map(({ spec }) => exec(spec, vsctl([["--if-exists", "del-br", BRIDGE]])))),
};

/** A playbook (JSON is YAML) that makes the topology, or removes it, with the openvswitch collection's modules. */
function playbook(state: "present" | "absent"): unknown {
  const db = { database_socket: "unix:{{ ovs_rundir }}/db.sock" };
  const meterText = `meter=${METER.meterId},${METER.unit},bands=type=${METER.bands[0].type},rate=${METER.bands[0].rate}`;
  const tasks =
    state === "absent"
      ? [{ "openvswitch.openvswitch.openvswitch_bridge": { bridge: BRIDGE, state, ...db } }]
      : [
          {
            "openvswitch.openvswitch.openvswitch_bridge": {
              bridge: BRIDGE,
              fail_mode: "secure",
              set: `bridge ${BRIDGE} datapath_type=netdev protocols=OpenFlow13,OpenFlow14`,
              ...db,
            },
          },
          {
            "openvswitch.openvswitch.openvswitch_port": {
              bridge: BRIDGE,
              port: GRE.name,
              set: [`Interface ${GRE.name} type=gre options:remote_ip=flow options:key=flow ofport_request=${GRE.ofport}`],
              ...db,
            },
          },
          {
            "openvswitch.openvswitch.openvswitch_port": {
              bridge: BRIDGE,
              port: INTERNAL.name,
              set: [`Interface ${INTERNAL.name} type=internal mtu_request=${INTERNAL.mtu} ofport_request=${INTERNAL.ofport}`],
              ...db,
            },
          },
          // The collection has no meter or flow module: ovs-ofctl through command, made idempotent by hand.
          { "ansible.builtin.command": `ovs-ofctl -O OpenFlow13 dump-meters ${BRIDGE} meter=${METER.meterId}`, register: "meters", changed_when: false },
          { "ansible.builtin.command": `ovs-ofctl -O OpenFlow13 add-meter ${BRIDGE} ${meterText}`, when: "'type=drop' not in meters.stdout" },
          {
            "ansible.builtin.command": { cmd: `ovs-ofctl -O OpenFlow14 --bundle replace-flows ${BRIDGE} -`, stdin: FLOWS.map((f) => `table=${f.table},priority=${f.priority},${f.match} actions=${f.actions}`).join("\n") },
          },
        ];
  return [{ hosts: "all", gather_facts: false, environment: { OVS_RUNDIR: "{{ ovs_rundir }}" }, tasks }];
}

async function ansibleTool(dir: string): Promise<Tool> {
  if (!existsSync("/usr/bin/ansible-playbook")) {
    console.log("installing Debian's ansible (once)…");
    await exec(local, ["apt-get", "install", "-y", "-q", "ansible"], { timeoutMs: 600_000 });
  }
  const inventory = { all: { hosts: Object.fromEntries(hosts.map((h) => [h.name, { ansible_connection: "local", ansible_python_interpreter: "/usr/bin/python3", ovs_rundir: h.ovsRundir }])) } };
  await writeFile(join(dir, "inventory.yml"), JSON.stringify(inventory));
  await writeFile(join(dir, "present.yml"), JSON.stringify(playbook("present")));
  await writeFile(join(dir, "absent.yml"), JSON.stringify(playbook("absent")));
  const play = (file: string) => exec(local, ["env", "ANSIBLE_NOCOLOR=1", "ansible-playbook", "-i", join(dir, "inventory.yml"), join(dir, file)], { timeoutMs: 120_000 });
  return { name: "Ansible openvswitch collection", create: () => play("present.yml"), rerun: () => play("present.yml"), remove: () => play("absent.yml") };
}

/** A temporary Pulumi project running `program` (a file of this folder) with its own file backend. */
async function pulumiProject(dir: string, program: string, config: Record<string, unknown>) {
  await copyFile(join(import.meta.dirname, program), join(dir, "index.ts"));
  await copyFile(join(import.meta.dirname, "topology.ts"), join(dir, "topology.ts"));
  await symlink(join(REPO, "node_modules"), join(dir, "node_modules"));
  await mkdir(join(dir, ".state"));
  const project = "ovs-offload-lab-peers";
  await writeFile(
    join(dir, "Pulumi.yaml"),
    JSON.stringify({ name: project, runtime: { name: "nodejs", options: { typescript: false, nodeargs: "--disable-warning=ExperimentalWarning" } }, main: "index.ts", backend: { url: `file://${join(dir, ".state")}` } }),
  );
  await writeFile(join(dir, "Pulumi.bench.yaml"), JSON.stringify({ config: Object.fromEntries(Object.entries(config).map(([k, v]) => [`${project}:${k}`, v])) }));
  const pulumi = (...args: string[]) => exec(local, ["pulumi", ...args, "--stack", "bench", "--cwd", dir, "--non-interactive"], { timeoutMs: 300_000 });
  await exec(local, ["pulumi", "stack", "init", "bench", "--cwd", dir, "--non-interactive"]);
  return pulumi;
}

type Pulumi = Awaited<ReturnType<typeof pulumiProject>>;

function pulumiTools(pulumi: Pulumi): Tool[] {
  const up = (preview: boolean) => () => pulumi("up", "--yes", ...(preview ? [] : ["--skip-preview"]));
  const destroy = (preview: boolean) => () => pulumi("destroy", "--yes", ...(preview ? [] : ["--skip-preview"]));
  return [
    { name: "provider, up --skip-preview", create: up(false), rerun: up(false), remove: destroy(false) },
    { name: "provider, up (with preview)", create: up(true), rerun: up(true), remove: destroy(true) },
  ];
}

/** How many resources the stack has (the stack itself and default providers not counted). */
async function resourceCount(pulumi: Pulumi): Promise<number> {
  const { stdout } = await pulumi("stack", "export");
  const resources = (JSON.parse(stdout) as { deployment: { resources?: { type: string }[] } }).deployment.resources ?? [];
  return resources.filter((r) => r.type !== "pulumi:pulumi:Stack" && !r.type.startsWith("pulumi:providers:")).length;
}

/**
 * Where a no-change `up --skip-preview` spends its time, from the engine's
 * own log (-v=9): the first log line matching each mark ends that phase.
 * The marks are Pulumi's log messages (3.260); a phase whose mark is not
 * found prints "—".
 */
const PHASES: [string, RegExp][] = [
  ["pulumi CLI start-up (Go; project, backend, state)", /newPlugin\(\): Launching plugin 'nodejs'/],
  ["language host plugin, started twice (Go)", /langhost\[nodejs\]\.Run\(/],
  ["Node.js and @pulumi/pulumi loading for the program", /RegisterResource received: t=pulumi:pulumi:Stack/],
  ["the program: our package loaded, first resources registered", /Launching plugin 'pulumi-nodejs \(resource\)'/],
  ["dynamic-provider process start-up (Node.js, @pulumi/pulumi)", /Provider\[[^\]]+\]\.GetPluginInfo\(\) executing/],
  ["check and diff of every resource (our provider's own work)", /\*\*\* Update\(preview=false\) complete \*\*\*/],
];

async function phases(run: (...args: string[]) => Promise<{ stderr: string }>): Promise<[string, number | undefined][]> {
  const started = Date.now();
  const { stderr } = await run("up", "--yes", "--skip-preview", "-v=9", "--logtostderr");
  const ended = Date.now();
  const lines = stderr.split("\n").flatMap((l) => (l.startsWith("{") ? [JSON.parse(l) as { time: string; msg: string }] : []));
  let from = started;
  let at = 0;
  const result: [string, number | undefined][] = [];
  for (const [name, mark] of PHASES) {
    const i = lines.findIndex((l, j) => j >= at && mark.test(l.msg));
    if (i < 0) {
      result.push([name, undefined]);
      continue;
    }
    const t = Date.parse(lines[i].time);
    result.push([name, (t - from) / 1000]);
    [from, at] = [t, i];
  }
  result.push(["shutdown: plugins stopped, state written", (ended - from) / 1000]);
  return result;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (x: number | undefined) => (x === undefined ? "—" : `${x.toFixed(2)} s`);

async function main() {
  const work = await mkdtemp(join(tmpdir(), "ool-peers-"));
  await labUp(lab, () => {});
  try {
    const provider = await pulumiProject(await mkdtemp(join(work, "program-")), "program.ts", { hosts: hosts.map((h) => h.spec satisfies HostSpec) });
    // The resources the topology makes, counted from a real up, for the floor.
    await provider("up", "--yes", "--skip-preview");
    const count = await resourceCount(provider);
    const breakdown = await phases(provider);
    await provider("destroy", "--yes", "--skip-preview");
    const floor = await pulumiProject(await mkdtemp(join(work, "floor-")), "floor.ts", { count });
    const floorTools = pulumiTools(floor).map((t) => ({ ...t, name: t.name.replace("provider", "Pulumi's floor (no-op dynamic resources)") }));
    const tools = [plain, await ansibleTool(work), ...pulumiTools(provider), ...floorTools];
    const times = new Map(tools.map((t) => [t.name, { create: [] as number[], rerun: [] as number[], remove: [] as number[] }]));
    const commands = new Map<string, Record<Phase, number>>();
    /** Runs a phase, timed, with the commands it ran on the lab hosts counted (OVS_OFFLOAD_LAB_TRACE; Ansible's are not ours to count). */
    const run = async (tool: Tool, phase: Phase, what: () => Promise<unknown>) => {
      const trace = join(work, `trace-${phase}.jsonl`);
      process.env.OVS_OFFLOAD_LAB_TRACE = trace;
      times.get(tool.name)![phase].push((await timed(what))[1]);
      delete process.env.OVS_OFFLOAD_LAB_TRACE;
      const lines = existsSync(trace) ? (await readFile(trace, "utf8")).split("\n").filter((l) => l.includes('"host":"netns ')) : [];
      commands.set(tool.name, { ...commands.get(tool.name)!, [phase]: lines.length });
      await rm(trace, { force: true });
    };
    for (let round = 0; round < rounds; round++) {
      // Alternating: each round starts with the next tool, so no tool always runs on a machine just warmed (or loaded) by another.
      for (const tool of [...tools.slice(round % tools.length), ...tools.slice(0, round % tools.length)]) {
        await run(tool, "create", tool.create);
        if (tool.rerun) await run(tool, "rerun", tool.rerun);
        await run(tool, "remove", tool.remove);
      }
      console.log(`round ${round + 1}/${rounds} done`);
    }
    const ansible = times.get(tools[1].name)!;
    console.log(`\nMedians of ${rounds} alternating runs (two lab hosts, ${FLOWS.length} flows each):\n`);
    console.log("| tool | create | re-run, nothing changed | remove | ÷ Ansible (create / re-run / remove) | commands on the hosts (create / re-run / remove) |");
    console.log("|---|---|---|---|---|---|");
    for (const tool of tools) {
      const t = times.get(tool.name)!;
      const ratio = (k: Phase) => (t[k].length ? (median(t[k]) / median(ansible[k])).toFixed(2) : "—");
      const counted = tool === tools[1] ? "—" : PHASES_RUN.map((k) => commands.get(tool.name)?.[k] ?? "—").join(" / ");
      console.log(`| ${tool.name} | ${seconds(median(t.create))} | ${seconds(t.rerun.length ? median(t.rerun) : undefined)} | ${seconds(median(t.remove))} | ${ratio("create")} / ${ratio("rerun")} / ${ratio("remove")} | ${counted} |`);
    }
    console.log(`\n(${count} resources a stack: per host a bridge, two ports, a meter and a flow set, and the stack's instance.)`);

    const rerun = median(times.get(tools[2].name)!.rerun);
    console.log(`\nThe floor is Pulumi alone: as many dynamic resources (${count}) whose provider does nothing, same CLI and flags. The provider's no-change up is ${(rerun / median(times.get(floorTools[0].name)!.rerun)).toFixed(2)}× the floor's.`);
    console.log(`\nWhere the provider's no-change up --skip-preview goes (one run, from pulumi -v=9):\n`);
    for (const [name, s] of breakdown) console.log(`  ${seconds(s).padStart(7)}  ${name}`);
  } finally {
    await labDown(lab, () => {});
    await rm(work, { recursive: true, force: true });
  }
}

await main();
