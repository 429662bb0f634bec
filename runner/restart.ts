// restart-ovs: the explicit, opt-in step that OvsConfig's `restartNeeded`
// asks for. ovs-vswitchd applies some other_config keys only when it starts
// (tc-policy, dpdk-*, …), and a restart drops every OpenFlow flow and meter
// (they live in the process, not in its database), so the step is: restart
// ovs-vswitchd where a stack's OvsConfig says so (or on the host named), then
// `pulumi up --refresh`, which finds what the restart dropped and puts it back.
import type { automation } from "@pulumi/pulumi";
import { LAB_NAME_PATTERN, labLayout, type LabHost } from "../lab/layout.ts";
import { restartVswitchd } from "../lab/ovs.ts";
import { CommandError, exec, hostLabel, ignoring, type HostSpec } from "../provider/host.ts";
import { TYPE_MODULE } from "../provider/loader.ts";

const OVS_CONFIG_TYPE = `pulumi-nodejs:dynamic/${TYPE_MODULE}:OvsConfig`;
/** The units that restart Open vSwitch, preferred first: Debian and Ubuntu's, then RHEL and Fedora's. */
export const OVS_UNITS = ["openvswitch-switch.service", "openvswitch.service"];
/** Where ovs-ctl is: the distributions' packages, then a source build's default prefix. */
export const OVS_CTL = ["/usr/share/openvswitch/scripts/ovs-ctl", "/usr/local/share/openvswitch/scripts/ovs-ctl"];
/** As long as Debian's ovs-vswitchd.service gives a restart (TimeoutSec=300). */
const RESTART_TIMEOUT_MS = 300_000;

/** What a host says about how Open vSwitch runs there. */
export interface RestartFacts {
  /** What `systemctl is-system-running` printed ("running", "degraded", "offline": not booted with systemd, …); undefined when systemctl could not be run. */
  systemd?: string;
  /** The units of OVS_UNITS that systemd has there, preferred first. */
  units: string[];
  /** The first ovs-ctl of OVS_CTL that is executable there (asked only when no unit will do). */
  ovsCtl?: string;
}

export type RestartChoice = { argv: string[]; why: string } | { refused: string };

/** systemd is PID 1 there (systemctl(1), "Manager Operational States": offline means it is not). */
const systemdRuns = (f: RestartFacts) => f.systemd !== undefined && !["", "offline", "unknown"].includes(f.systemd);
const unitWillDo = (f: RestartFacts) => systemdRuns(f) && f.units.length > 0;

/**
 * How to restart ovs-vswitchd on a real host: through systemd when it runs
 * Open vSwitch's unit (restarting OVS behind systemd's back would leave the
 * unit's state wrong), else ovs-ctl, restarting ovs-vswitchd alone (as
 * Debian's ovs-vswitchd.service reloads it); else refused, saying why.
 */
export function chooseRestart(f: RestartFacts): RestartChoice {
  if (unitWillDo(f)) return { argv: ["systemctl", "restart", f.units[0].replace(/\.service$/, "")], why: `systemd ${f.systemd}, unit ${f.units[0]}` };
  const systemd = f.systemd === undefined ? "no systemctl" : systemdRuns(f) ? `systemd ${f.systemd} without ${OVS_UNITS.join(" or ")}` : `systemd ${f.systemd}`;
  if (f.ovsCtl) return { argv: [f.ovsCtl, "--no-ovsdb-server", "restart"], why: `${systemd}; ovs-ctl there` };
  return { refused: `${systemd}, and no ovs-ctl at ${OVS_CTL.join(" or ")}` };
}

/** The word `systemctl is-system-running` printed (it exits non-zero for every state but running), or undefined when systemctl could not run. */
async function systemdState(host: HostSpec): Promise<string | undefined> {
  try {
    return (await exec(host, ["systemctl", "is-system-running"])).stdout.trim();
  } catch (err) {
    if (!(err instanceof CommandError) || err.kind !== "failed") throw err; // unreachable, denied, timed out: the host's answer is unknown
    // Not run at all: no such program (spawn failed, or 126/127 from the remote wrapper).
    if (err.exitCode === null || err.exitCode === 126 || err.exitCode === 127) return undefined;
    return err.stdout.trim();
  }
}

/** Asks `host` what restartFacts needs, and no more: ovs-ctl only where no systemd unit will do. */
export async function restartFacts(host: HostSpec): Promise<RestartFacts> {
  const facts: RestartFacts = { systemd: await systemdState(host), units: [] };
  if (systemdRuns(facts)) {
    // list-unit-files reads the unit files themselves; it exits 1 when it lists none.
    const listed = await exec(host, ["systemctl", "list-unit-files", "--no-legend", "--no-pager", ...OVS_UNITS]).catch((err: unknown) => {
      if (err instanceof CommandError && err.exitCode === 1 && err.stdout.trim() === "") return { stdout: "" };
      throw err;
    });
    const names = new Set(listed.stdout.split("\n").map((line) => line.trim().split(/\s+/)[0]));
    facts.units = OVS_UNITS.filter((u) => names.has(u));
  }
  if (unitWillDo(facts)) return facts;
  for (const path of OVS_CTL) {
    if (await exec(host, ["test", "-x", path]).then(() => true, ignoring("not-found"))) {
      facts.ovsCtl = path;
      break;
    }
  }
  return facts;
}

/** The lab host whose Open vSwitch `spec` reaches on this machine, if it is one. */
export function labHostOf(spec: HostSpec): LabHost | undefined {
  if (spec.kind !== "netns" || !spec.ovsRundir) return undefined;
  const lab = spec.netns.split("-")[0];
  if (!LAB_NAME_PATTERN.test(lab)) return undefined;
  return labLayout(lab).hosts.find((h) => h.netns === spec.netns && h.ovsRundir === spec.ovsRundir);
}

/** An OvsConfig of a stack, as its state has it. */
export interface OvsConfigState {
  urn: string;
  host: HostSpec;
  restartNeeded: string[];
}

/** The stack's OvsConfig resources, from its state (the last up's outputs). */
export async function ovsConfigsOf(stack: automation.Stack): Promise<OvsConfigState[]> {
  const deployment = (await stack.exportStack()).deployment as { resources?: { urn: string; type: string; outputs?: Record<string, unknown> }[] };
  return (deployment.resources ?? [])
    .filter((r) => r.type === OVS_CONFIG_TYPE && r.outputs)
    .map((r) => {
      const host = r.outputs!.host as HostSpec;
      if (typeof host?.kind !== "string") throw new Error(`${r.urn}: its host is not readable in the stack's state (a secret?): name the host with --host`);
      return { urn: r.urn, host, restartNeeded: (r.outputs!.restartNeeded as string[] | undefined) ?? [] };
    });
}

/** A host to restart ovs-vswitchd on, and why. */
interface Target {
  /** Its role in the stack and how it is reached, e.g. "host1 (netns ool-host1)". */
  label: string;
  host: HostSpec;
  /** The keys of its OvsConfig resources that wait for the restart. */
  keys: string[];
}

type Plan = Target & ({ lab: LabHost } | { argv: string[]; why: string });

export interface RestartReport {
  /** Per host: what it ran, and the keys it was for. */
  restarted: { host: string; ran: string; keys: string[] }[];
  /** The resource changes of the `pulumi up --refresh` after it (none when nothing was restarted). */
  changes?: Record<string, number>;
}

/** The hosts to restart: `role`'s, or every host with an OvsConfig whose restartNeeded is not empty. */
function targets(configs: OvsConfigState[], roles: Record<string, HostSpec>, role: string | undefined, stack: string): Target[] {
  const named = (host: HostSpec) => {
    const r = Object.keys(roles).find((k) => hostLabel(roles[k]) === hostLabel(host));
    return r ? `${r} (${hostLabel(host)})` : hostLabel(host);
  };
  const keysOn = (host: HostSpec, list: OvsConfigState[]) => [...new Set(list.filter((c) => hostLabel(c.host) === hostLabel(host)).flatMap((c) => c.restartNeeded))];
  if (role !== undefined) {
    const host = roles[role];
    if (!host) throw new Error(`--host ${role}: stack ${stack} has no such host (its hosts: ${Object.keys(roles).join(", ") || "none in its outputs"})`);
    return [{ label: named(host), host, keys: keysOn(host, configs) }];
  }
  const waiting = configs.filter((c) => c.restartNeeded.length > 0);
  const hosts = [...new Map(waiting.map((c) => [hostLabel(c.host), c.host])).values()];
  return hosts.map((host) => ({ label: named(host), host, keys: keysOn(host, waiting) }));
}

/** How each target is restarted; throws, before any is, when one cannot be. */
async function plan(target: Target): Promise<Plan> {
  const { host } = target;
  if ((host.kind === "netns" || host.kind === "ssh") && host.ovsRundir) {
    const lab = labHostOf(host);
    if (lab) return { ...target, lab };
    throw new Error(
      `${target.label}: a lab's Open vSwitch (OVS_RUNDIR ${host.ovsRundir}) that does not run on this machine: on the machine that runs it, ` +
        `stop that ovs-vswitchd by the pid in ${host.ovsRundir}/ovs-vswitchd.pid and run \`npm run lab -- up --name <lab>\`, which starts it again; then run \`pulumi up --refresh\``,
    );
  }
  const choice = chooseRestart(await restartFacts(host));
  if ("refused" in choice) {
    throw new Error(
      `${target.label}: found no way to restart ovs-vswitchd there (${choice.refused}). Restart it by hand the way it was started, ` +
        `then run \`pulumi up --refresh\` on the stack: the restart drops every OpenFlow flow and meter, and that puts them back`,
    );
  }
  return { ...target, ...choice };
}

/**
 * Restarts ovs-vswitchd on the stack's hosts whose OvsConfig has keys waiting
 * for it (`restartNeeded`), or on host `role` alone, then runs `pulumi up
 * --refresh` to put back the flows and meters the restart dropped. With
 * nothing waiting and no role, says so and does nothing.
 */
export async function restartOvs(
  stack: automation.Stack,
  options: { role?: string; onOutput?: (out: string) => void },
  say: (line: string) => void,
): Promise<RestartReport> {
  // A scenario stack's `hosts` output names its hosts by role; a stack of other resources may have none.
  const roles = ((await stack.outputs()).hosts?.value ?? {}) as Record<string, HostSpec>;
  const wanted = targets(await ovsConfigsOf(stack), roles, options.role, stack.name);
  if (wanted.length === 0) {
    say(`${stack.name}: no OvsConfig of the stack has keys waiting for an ovs-vswitchd restart (restartNeeded is empty): nothing to do`);
    return { restarted: [] };
  }
  const plans = [];
  for (const t of wanted) plans.push(await plan(t));
  const restarted: RestartReport["restarted"] = [];
  for (const p of plans) {
    const why = p.keys.length ? `for other_config ${p.keys.join(", ")}` : "as --host asked";
    let ran: string;
    if ("lab" in p) {
      const { stopped, started } = await restartVswitchd(p.lab, () => {});
      ran = `lab: ovs-vswitchd ${stopped === undefined ? "was not running" : `pid ${stopped} stopped`}, started as pid ${started}`;
    } else {
      await exec(p.host, p.argv, { timeoutMs: RESTART_TIMEOUT_MS });
      ran = `\`${p.argv.join(" ")}\` (${p.why})`;
    }
    const version = (await exec(p.host, ["ovs-appctl", "--timeout=10", "version"])).stdout.split("\n")[0];
    say(`${p.label}: restarted ovs-vswitchd ${why}: ${ran}; it answers: ${version}`);
    restarted.push({ host: p.label, ran, keys: p.keys });
  }
  say(`${stack.name}: pulumi up --refresh (the restart dropped every OpenFlow flow and meter)`);
  const up = await stack.up({ refresh: true, onOutput: options.onOutput });
  const changes = up.summary.resourceChanges ?? {};
  say(`${stack.name}: up --refresh: ${Object.entries(changes).map(([k, n]) => `${k} ${n}`).join(", ")}`);
  say(
    `${stack.name}: restartNeeded keeps naming these keys (it says what the last change of each OvsConfig set) until their settings change again; ` +
      `they are in effect now, so there is no need to run restart-ovs again for them`,
  );
  return { restarted, changes };
}
