// recover (runner/recover.ts) on fabricated leftovers of a killed engine, with
// a stand-in for the stack (its project folder and file backend, no Pulumi
// CLI): which locks it judges stale and removes, which processes it takes for
// plugins the engine left, and that it signals no other process. Root only
// (processes of another user are part of it).
import { spawn, type ChildProcess } from "node:child_process";
import { readlinkSync, writeFileSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readdir, realpath, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { automation } from "@pulumi/pulumi";
import { afterAll, afterEach, beforeAll, expect, test } from "vitest";
import { cmdline, stopPid } from "../../lab/process.ts";
import { waitFor } from "../../provider/host.ts";
import { procIdentity, procStat, type ProcIdentity } from "../../provider/proc.ts";
import { recoverStack } from "../../runner/recover.ts";

const NOBODY = 65534;
let dir: string;
let bin: string;
let project: string;
let lockDir: string;
let dynamicProvider: string;
const savedPath = process.env.PATH;
const children: ChildProcess[] = [];
const grandchildren: ProcIdentity[] = [];

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), "ool-recover-")));
  await chmod(dir, 0o755); // nobody runs programs from here too
  // Where Pulumi looks for plugins (PATH): these are plugins' programs, as far as recover can know.
  bin = join(dir, "bin");
  await mkdir(bin);
  await copyFile("/usr/bin/sleep", join(bin, "pulumi-resource-mock"));
  await copyFile("/usr/bin/bash", join(bin, "pulumi-language-mock"));
  process.env.PATH = `${bin}:${savedPath}`;
  // The project: imitations of plugins that Pulumi would never run, and the dynamic provider host's script.
  project = join(dir, "project");
  await mkdir(project);
  await copyFile("/usr/bin/sleep", join(project, "pulumi-resource-mock"));
  await writeFile(join(project, "pulumi-resource-mock.py"), "import time\ntime.sleep(300)\n");
  dynamicProvider = join(project, "node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js");
  await mkdir(join(dynamicProvider, ".."), { recursive: true });
  await writeFile(dynamicProvider, "setInterval(() => {}, 1 << 30);\n");
  for (const file of [join(bin, "pulumi-resource-mock"), join(bin, "pulumi-language-mock"), join(project, "pulumi-resource-mock")]) await chmod(file, 0o755);
  lockDir = join(dir, "state/.pulumi/locks/organization/proj/dev");
  await mkdir(lockDir, { recursive: true });
});
afterEach(async () => {
  // Ours only: children not yet reaped (their pids cannot have been reused), and grandchildren by identity.
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  for (const id of grandchildren.splice(0)) await stopPid(id, 1000);
  for (const f of await readdir(lockDir)) await rm(join(lockDir, f));
});
afterAll(async () => {
  process.env.PATH = savedPath;
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The stack as recover sees it, on the file backend in `dir`. */
function stack(): automation.Stack {
  return {
    name: "dev",
    workspace: {
      workDir: project,
      whoAmI: async () => ({ user: "root", url: `file://${join(dir, "state")}` }),
      projectSettings: async () => ({ name: "proj", runtime: "nodejs" }),
    },
    // What `pulumi cancel` does on the file backend: every lock file of the stack goes.
    cancel: async () => {
      for (const f of await readdir(lockDir)) await rm(join(lockDir, f));
    },
    exportStack: async () => ({ version: 3, deployment: {} }),
    importStack: async () => {},
    refresh: async () => ({}),
  } as unknown as automation.Stack;
}

/** Starts `argv` (in the project unless told), and resolves its pid once it runs that program. */
async function start(argv: string[], options: { uid?: number; cwd?: string } = {}): Promise<number> {
  const child = spawn(argv[0], argv.slice(1), { cwd: options.cwd ?? project, stdio: "ignore", uid: options.uid, gid: options.uid });
  children.push(child);
  const pid = child.pid!;
  expect(await waitFor(async () => (await cmdline(pid))?.join(" ") === argv.join(" "), 5000)).toBe(true);
  return pid;
}

const alive = (pid: number) => ![undefined, "Z"].includes(procStat(pid)?.state);
const exe = (pid: number) => readlinkSync(`/proc/${pid}/exe`);

/** Blocks until `done` holds (for up to 5 s): `say` is synchronous, and recover signals right after it returns. */
function blockUntil(done: () => boolean): void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 500 && !done(); i++) Atomics.wait(cell, 0, 0, 10);
}

/**
 * Starts `bash` (a copy of it) that turns into `sleep` on `signal` — same pid,
 * same start, another program; resolves its pid once it is ready for the signal.
 */
async function startTurningIntoSleep(bash: string, signal: string): Promise<number> {
  const child = spawn(bash, ["-c", `trap 'exec sleep 300' ${signal}; echo; while :; do sleep 0.1; done`], { cwd: project, stdio: ["ignore", "pipe", "ignore"] });
  children.push(child);
  await new Promise((r) => child.stdout.once("data", r));
  return child.pid!;
}

function writeLock(name: string, pid: number, taken: Date): string {
  const file = join(lockDir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ pid, username: "root", hostname: hostname(), timestamp: taken.toISOString() }));
  return file;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn("true");
  await new Promise((r) => child.on("exit", r));
  return child.pid!;
}

test("processes of another user are left alone, even one running a plugin's program from the project", async () => {
  const plugin = await start([join(bin, "pulumi-resource-mock"), "300"], { uid: NOBODY });
  const script = await start(["/usr/bin/python3", "pulumi-resource-mock.py"], { uid: NOBODY });

  const recovery = await recoverStack(stack(), () => {});
  expect(recovery.stopped).toEqual([]);
  expect([alive(plugin), alive(script)]).toEqual([true, true]);
});

test("of our processes, only those running a plugin's program (where Pulumi finds it) are stopped, not look-alikes", async () => {
  const copy = await start([join(project, "pulumi-resource-mock"), "300"]);
  const script = await start(["/usr/bin/python3", "pulumi-resource-mock.py"]);
  const plugin = await start([join(bin, "pulumi-resource-mock"), "300"]);
  const provider = await start([process.execPath, dynamicProvider]);
  const elsewhere = await start([join(bin, "pulumi-resource-mock"), "300"], { cwd: dir });

  const recovery = await recoverStack(stack(), () => {});
  expect(recovery.stopped.sort()).toEqual([`${plugin} pulumi-resource-mock`, `${provider} pulumi-nodejs dynamic provider`].sort());
  expect([alive(copy), alive(script), alive(elsewhere)]).toEqual([true, true, true]);
  expect([alive(plugin), alive(provider)]).toEqual([false, false]);
});

test("a plugin with a live engine above it is left alone", async () => {
  const engine = join(dir, "engine");
  await mkdir(engine, { recursive: true });
  await copyFile("/usr/bin/bash", join(engine, "pulumi"));
  await chmod(join(engine, "pulumi"), 0o755);
  const parent = spawn(join(engine, "pulumi"), ["-c", `"$1" 300 & echo $!; wait`, "pulumi", join(bin, "pulumi-resource-mock")], { cwd: project, stdio: ["ignore", "pipe", "ignore"] });
  children.push(parent);
  const plugin = Number(await new Promise<string>((r) => parent.stdout.once("data", (d: Buffer) => r(d.toString()))));
  const ready = await waitFor(async () => (await cmdline(plugin))?.[0] === join(bin, "pulumi-resource-mock"), 5000);
  grandchildren.push(procIdentity(plugin)!);
  expect(ready).toBe(true);

  const recovery = await recoverStack(stack(), () => {});
  expect(recovery.stopped).toEqual([]);
  expect(alive(plugin)).toBe(true);
});

test("recover signals only the process it chose: not its pid once that runs another program", async () => {
  const plugin = await startTurningIntoSleep(join(bin, "pulumi-language-mock"), "USR1");
  const sleep = await realpath("/usr/bin/sleep");
  // Between choosing the plugin and signalling it, its pid comes to run something else.
  const say = (line: string) => {
    if (!line.includes(`(pid ${plugin})`)) return;
    process.kill(plugin, "SIGUSR1");
    blockUntil(() => exe(plugin) === sleep);
  };

  await recoverStack(stack(), say);
  expect(alive(plugin)).toBe(true);
  expect(exe(plugin)).toBe(sleep);
});

test("stopPid sends SIGKILL only if its pid still runs the process it sent SIGTERM to", async () => {
  const pid = await startTurningIntoSleep("/usr/bin/bash", "TERM");
  await stopPid(pid, 1000);
  expect(alive(pid)).toBe(true);
  expect(exe(pid)).toBe(await realpath("/usr/bin/sleep"));
});

test("a lock is held while its pid runs a process started before it, whatever that process's name: recover refuses and removes nothing", async () => {
  const holder = await start(["/usr/bin/sleep", "300"]);
  const held = writeLock("held", holder, new Date());
  const stale = writeLock("stale", await deadPid(), new Date(Date.now() - 60_000));

  await expect(recoverStack(stack(), () => {})).rejects.toThrow(`locked by pid ${holder}`);
  expect((await readdir(lockDir)).map((f) => join(lockDir, f)).sort()).toEqual([held, stale].sort());
  expect(alive(holder)).toBe(true);
});

test("locks whose pid is gone or now runs a later process are stale, and only those files are removed", async () => {
  const gone = writeLock("gone", await deadPid(), new Date(Date.now() - 60_000));
  const later = await start(["/usr/bin/sleep", "300"]);
  const reused = writeLock("reused", later, new Date(Date.now() - 5_000));
  // A lock taken once recover has judged the others (by this process, running since before it): not recover's to remove.
  let taken = false;
  const say = (line: string) => {
    if (!taken && line.includes("removing")) taken = Boolean(writeLock("taken", process.pid, new Date()));
  };

  const recovery = await recoverStack(stack(), say);
  expect(await readdir(lockDir)).toEqual(["taken.json"]);
  expect(recovery.staleLocks.sort()).toEqual([gone, reused].sort());
  expect(alive(later)).toBe(true);
});

test("a stale lock goes with the attributes file the backend wrote beside it", async () => {
  const gone = writeLock("gone", await deadPid(), new Date(Date.now() - 60_000));
  writeFileSync(`${gone}.attrs`, "{}\n");

  await recoverStack(stack(), () => {});
  expect(await readdir(lockDir)).toEqual([]);
});

test("attributes files of the stack's checkpoint cut short by a kill are removed, and only those", async () => {
  const stacks = join(dir, "state/.pulumi/stacks/proj");
  await mkdir(stacks, { recursive: true });
  const attrs = '{"user.cache_control":"","user.content_type":"application/octet-stream","md5":"AAAA"}\n';
  const files = {
    "dev.json": '{"version":3,"checkpoint":{}}',
    "dev.json.attrs": "", // the kill came between create and write
    "dev.json.bak": '{"version":3,"checkpoint":{}}',
    "dev.json.bak.attrs": attrs.slice(0, 20), // or during the write
    "dev.jsonl.attrs": "", // not the stack's
    "prod.json.attrs": "", // another stack's
    "prod.json.bak.attrs": attrs,
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(stacks, name), text);

  const said: string[] = [];
  const recovery = await recoverStack(stack(), (l) => said.push(l));
  expect(recovery.repaired.sort()).toEqual([join(stacks, "dev.json.attrs"), join(stacks, "dev.json.bak.attrs")]);
  expect((await readdir(stacks)).sort()).toEqual(["dev.json", "dev.json.bak", "dev.jsonl.attrs", "prod.json.attrs", "prod.json.bak.attrs"]);
  expect(said.join("\n")).toContain("cut short");
  await rm(stacks, { recursive: true });
});
