// `pulumi up` of a scenario stack (meter-offload) interrupted at several
// points: Ctrl-C (SIGINT, Pulumi cancels gracefully), SIGKILL of the engine
// (a stale lock, plugins left running, pending creates), and SIGINT followed
// by SIGKILL. Each time `recover` (runner/recover.ts) and one `up` converge:
// every resource once in the state, the stack's checks pass, and destroy
// leaves the hosts and the machine's processes as before. A kill can also
// cut the backend's checkpoint attributes file short: that case is made
// on purpose too, since a signal lands there only now and then.
import { readdir, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { exec, timed, waitFor } from "../../provider/host.ts";
import { procStat } from "../../provider/proc.ts";
import { recoverStack } from "../../runner/recover.ts";
import { labSnapshot, testLabName } from "../support/machine.ts";
import { expectWorkingAndSettled, projectCopy, type ProjectCopy } from "../support/project.ts";

const lab = labLayout(testLabName(), 2);
const [host1] = lab.hosts;
let project: ProjectCopy;
let before: unknown;
let resourcesWhenUp: string[];
const snapshot = () => labSnapshot(lab);

/** Processes running from the project copy (its language host, providers), as "pid name". */
async function projectProcesses(): Promise<string[]> {
  const found: string[] = [];
  for (const entry of (await readdir("/proc")).filter((d) => /^\d+$/.test(d))) {
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => "");
    const stat = procStat(Number(entry));
    if (cwd.startsWith(project.dir) && stat && stat.state !== "Z") found.push(`${entry} ${stat.comm}`);
  }
  return found;
}

/** The `pulumi` this test process started (the Automation API runs the CLI as its child). */
async function engine(): Promise<number> {
  const pids = (await readdir("/proc")).filter((d) => /^\d+$/.test(d)).map(Number);
  const found = pids.filter((pid) => procStat(pid)?.ppid === process.pid && procStat(pid)?.comm === "pulumi");
  expect(found).toHaveLength(1);
  return found[0];
}

const there = (argv: string[]) => () => exec(host1.spec, argv).then(() => true, () => false);
const POINTS = {
  "the first bridge appears": there(["ovs-vsctl", "--timeout=5", "br-exists", "br0"]),
  "the GRE port appears": there(["ovs-vsctl", "--timeout=5", "port-to-br", "gre"]),
  "the meter appears": async () => (await exec(host1.spec, ["ovs-ofctl", "-O", "OpenFlow13", "dump-meters", "br0"]).catch(() => ({ stdout: "" }))).stdout.includes("meter=7"),
};

const urns = (deployment: { resources?: { urn: string }[] }) => (deployment.resources ?? []).map((r) => r.urn).sort();

beforeAll(async () => {
  await labUp(lab, () => {});
  project = await projectCopy();
  before = await snapshot();
  // What the state holds after an uninterrupted up: the yardstick for "nothing duplicated, nothing missing".
  const stack = await project.stack("meter-offload", lab.name);
  await stack.up();
  resourcesWhenUp = urns((await stack.exportStack()).deployment);
  await stack.destroy();
});
afterAll(async () => {
  await project?.remove();
  await labDown(lab, () => {});
});

test.each([
  { signals: ["SIGINT"], at: "the first bridge appears" },
  { signals: ["SIGKILL"], at: "the meter appears" },
  { signals: ["SIGINT", "SIGKILL"], at: "the GRE port appears" },
] as const)("up interrupted by $signals as $at: recover and up converge, nothing duplicated or left behind", async ({ signals, at }) => {
  const stack = await project.stack("meter-offload", lab.name);
  try {
    const up = stack.up().then(() => undefined, (e: Error) => e);
    expect(await waitFor(POINTS[at], 60_000)).toBe(true);
    const pid = await engine();
    const delivered: string[] = [];
    for (const [i, signal] of signals.entries()) {
      // An impatient user: the second signal follows closely (a graceful cancel may end first).
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      if (procStat(pid)?.comm !== "pulumi") break;
      process.kill(pid, signal);
      delivered.push(signal);
    }
    expect(await up).toBeInstanceOf(Error);
    // The provider process notices its engine is gone and stops; only Pulumi's idle language host may stay.
    expect(await waitFor(async () => (await projectProcesses()).every((p) => p.endsWith(" pulumi-language")), 5000)).toBe(true);
    const leftover = (await projectProcesses()).map((p) => p.split(" ")[0]);

    const [recovery, seconds] = await timed(() => recoverStack(stack, () => {}));
    const killed = delivered.includes("SIGKILL");
    console.log(
      `${delivered.join(" then ")} as ${at}: ${recovery.staleLocks.length} stale lock(s) removed; stopped ${recovery.stopped.length} leftover plugin(s); ` +
        `${recovery.imported.length} pending create(s) read back, ${recovery.cleared.length} cleared; recover took ${seconds.toFixed(1)} s`,
    );
    expect(recovery.staleLocks.length).toBe(killed ? 1 : 0);
    // Recover found the language host by its program, and stopped it.
    expect(recovery.stopped.map((p) => p.split(" ")[0]).sort()).toEqual(leftover.sort());
    expect(await projectProcesses()).toEqual([]);
    expect((await stack.exportStack()).deployment.pending_operations ?? []).toEqual([]);

    await stack.up();
    expect(urns((await stack.exportStack()).deployment)).toEqual(resourcesWhenUp);
    await expectWorkingAndSettled(stack);
  } finally {
    await stack.destroy();
  }
  expect(await snapshot()).toEqual(before);
  expect(await projectProcesses()).toEqual([]);
});

test("a kill that cut the checkpoint's attributes file short: every command fails until recover removes it", async () => {
  const stack = await project.stack("meter-offload", lab.name);
  try {
    await stack.up();
    // What the backend leaves when killed between creating the file and writing it (gocloud fileblob's setAttrs).
    await writeFile(join(project.dir, ".pulumi-state/.pulumi/stacks/ovs-offload-lab/meter-offload.json.attrs"), "");
    await expect(stack.exportStack()).rejects.toThrow("failed to load checkpoint: EOF");

    const recovery = await recoverStack(stack, () => {});
    expect(recovery.repaired).toEqual([join(project.dir, ".pulumi-state/.pulumi/stacks/ovs-offload-lab/meter-offload.json.attrs")]);
    expect(urns((await stack.exportStack()).deployment)).toEqual(resourcesWhenUp);
    await expectWorkingAndSettled(stack);
  } finally {
    await stack.destroy();
  }
  expect(await snapshot()).toEqual(before);
});
