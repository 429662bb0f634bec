// After an engine was killed in the middle of an update (SIGKILL, a second
// Ctrl-C, OOM, a lost terminal): the stale lock it left, the Pulumi plugins
// it left running, and its pending operations — so that `up` converges.
import { readdir, readFile, readlink, realpath, rm } from "node:fs/promises";
import { homedir, hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { automation } from "@pulumi/pulumi";
import { cmdline, stopPid } from "../lab/process.ts";
import type { Kind } from "../provider/loader.ts";
import { ancestorNamed, procIdentity, startedAt, type ProcIdentity } from "../provider/proc.ts";
import { idOf } from "../provider/runtime.ts";
import { TYPE_MODULE } from "../provider/loader.ts";

const OUR_TYPE = `pulumi-nodejs:dynamic/${TYPE_MODULE}:`;

interface Lock {
  pid: number;
  hostname: string;
  timestamp: string;
}

interface PendingOperation {
  type: "creating" | "updating" | "deleting" | "reading";
  resource: { urn: string; type: string; inputs?: Record<string, unknown> };
}

export interface Recovery {
  /** The stale lock files removed. */
  staleLocks: string[];
  /** Attribute files of the stack's checkpoint that the kill cut short, removed. */
  repaired: string[];
  /** Plugins of a dead engine that were stopped, as "pid name". */
  stopped: string[];
  /** Pending creates imported under the id their create gives (refresh then keeps those found on their hosts). */
  imported: string[];
  /** Pending operations refresh cleared. */
  cleared: string[];
}

/** The directory of the stack's file backend (`<root>/.pulumi`), or undefined for any other backend. */
async function fileBackend(stack: automation.Stack): Promise<{ dir: string; project: string } | undefined> {
  const { url } = await stack.workspace.whoAmI();
  if (!url?.startsWith("file://")) return undefined;
  const root = url.startsWith("file:///") ? fileURLToPath(url.split("?")[0]) : join(stack.workspace.workDir, url.slice("file://".length).split("?")[0]);
  return { dir: join(root, ".pulumi"), project: (await stack.workspace.projectSettings()).name };
}

/** The file backend's locks on this stack (the only backend whose locks we can judge). */
async function locks(stack: automation.Stack): Promise<{ file: string; lock: Lock }[]> {
  const backend = await fileBackend(stack);
  if (!backend) return [];
  const dir = join(backend.dir, "locks", "organization", backend.project, stack.name);
  const files = await readdir(dir).catch(() => [] as string[]);
  return Promise.all(files.filter((f) => f.endsWith(".json")).map(async (f) => ({ file: join(dir, f), lock: JSON.parse(await readFile(join(dir, f), "utf8")) as Lock })));
}

/**
 * The file backend keeps beside each file an attributes file (`.attrs`,
 * gocloud's fileblob) that it rewrites in place, not by rename: an engine
 * killed at that moment leaves it empty or cut short, and every later command
 * fails "failed to load checkpoint: EOF". Such a file of the stack's
 * checkpoint or its backup is removed; the backend reads a file without one.
 * Returns the files removed.
 */
async function repairCheckpointAttributes(stack: automation.Stack): Promise<string[]> {
  const backend = await fileBackend(stack);
  if (!backend) return [];
  const dir = join(backend.dir, "stacks", backend.project);
  // The checkpoint as JSON, gzip or zstd, and its backup.
  const ours = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.startsWith(stack.name) && /^\.json(\.gz|\.zst)?(\.bak)?\.attrs$/.test(f.slice(stack.name.length)));
  const removed: string[] = [];
  for (const name of ours) {
    const file = join(dir, name);
    try {
      JSON.parse(await readFile(file, "utf8"));
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      await rm(file, { force: true });
      removed.push(file);
    }
  }
  return removed;
}

/**
 * Whether the engine that took `lock` may still run: its pid runs a process
 * that started before the lock was taken, which may be that engine under any
 * name. A pid that is gone, or now runs a later process, holds nothing.
 */
function mayBeHeld(lock: Lock): boolean {
  const started = startedAt(lock.pid);
  const taken = Date.parse(lock.timestamp);
  // An unreadable time proves nothing: held.
  return started !== undefined && (Number.isNaN(taken) || started <= taken);
}

/**
 * The programs a killed engine leaves running, as real paths: the Pulumi
 * plugins (pulumi-language-*, pulumi-resource-*) where the engine looks for
 * them — next to the `pulumi` on PATH, on PATH, in the plugin cache — and
 * the project's dynamic provider host, node running @pulumi/pulumi's
 * cmd/dynamic-provider (pulumi-resource-pulumi-nodejs is only the shell that
 * starts it, and ends with it).
 */
async function pluginPrograms(workDir: string): Promise<{ plugins: Set<string>; nodes: Set<string>; dynamicProvider: string }> {
  const path = (process.env.PATH ?? "").split(":").filter(Boolean);
  const real = (p: string) => realpath(p).catch(() => undefined);
  const firstOnPath = async (name: string) => (await Promise.all(path.map((d) => real(join(d, name))))).find((p) => p !== undefined);
  const pulumi = await firstOnPath("pulumi");
  const cache = join(process.env.PULUMI_HOME ?? join(homedir(), ".pulumi"), "plugins");
  const cached = (await readdir(cache, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()).map((d) => join(cache, d.name));
  const plugins = new Set<string>();
  for (const dir of [...(pulumi ? [dirname(pulumi)] : []), ...path, ...cached]) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const file = /^pulumi-(language|resource)-/.test(name) ? await real(join(dir, name)) : undefined;
      if (file) plugins.add(file);
    }
  }
  const nodes = new Set([await real(process.execPath), await firstOnPath("node")].filter((p) => p !== undefined));
  const dynamicProvider = join(workDir, "node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js");
  return { plugins, nodes, dynamicProvider: (await real(dynamicProvider)) ?? dynamicProvider };
}

/**
 * What a killed engine left running from the stack's project
 * (pulumi/pulumi#8696): processes of ours (our uid) running one of
 * pluginPrograms, whose cwd is in the project and with no live engine above
 * them. Each with its identity, so that a pid given since to another process
 * is never signalled.
 */
async function orphanedPlugins(workDir: string): Promise<(ProcIdentity & { name: string })[]> {
  const root = await realpath(workDir);
  const { plugins, nodes, dynamicProvider } = await pluginPrograms(root);
  const uid = process.getuid?.();
  const found: (ProcIdentity & { name: string })[] = [];
  for (const entry of await readdir("/proc")) {
    const id = procIdentity(Number(entry));
    if (id === undefined || id.uid !== uid) continue;
    const name = plugins.has(id.exe) ? basename(id.exe) : nodes.has(id.exe) && (await cmdline(id.pid))?.[1] === dynamicProvider ? "pulumi-nodejs dynamic provider" : undefined;
    if (name === undefined) continue;
    const cwd = await readlink(`/proc/${id.pid}/cwd`).catch(() => "");
    if (cwd !== root && !cwd.startsWith(`${root}/`)) continue;
    if (ancestorNamed(id.pid, "pulumi") === undefined) found.push({ ...id, name });
  }
  return found;
}

/**
 * Makes a stack whose last update was cut short ready for `up` again:
 * removes its stale lock files (and refuses while the engine that took one
 * may still run), repairs a checkpoint the kill left unreadable, stops the
 * plugins that engine left,
 * and refreshes — importing each of our pending creates under the id its
 * create gives, so that refresh keeps what reached the host and drops what did
 * not, and clearing the other pending operations.
 */
export async function recoverStack(stack: automation.Stack, say: (line: string) => void): Promise<Recovery> {
  const recovery: Recovery = { staleLocks: [], repaired: [], stopped: [], imported: [], cleared: [] };
  // Every lock is judged before any is removed; each is then removed by its own path, never one taken since.
  const found = await locks(stack);
  for (const { file, lock } of found) {
    if (lock.hostname !== hostname()) throw new Error(`${stack.name} is locked by pid ${lock.pid} on ${lock.hostname} (${file}); recover it there, or run \`pulumi cancel\` once you know that update has ended`);
    if (mayBeHeld(lock)) throw new Error(`${stack.name} is locked by pid ${lock.pid} since ${lock.timestamp} (${file}), and that process still runs: let it finish, or interrupt it (Ctrl-C), then run recover again`);
  }
  for (const { file, lock } of found) {
    say(`${stack.name}: removing the lock taken by pid ${lock.pid} at ${lock.timestamp}, a process that no longer runs: ${file}`);
    // With its attributes file: the backend writes one beside each lock.
    await rm(file, { force: true });
    await rm(`${file}.attrs`, { force: true });
    recovery.staleLocks.push(file);
  }
  for (const file of await repairCheckpointAttributes(stack)) {
    say(`${stack.name}: removing ${file}, cut short when the engine was killed (the backend reads the checkpoint without it)`);
    recovery.repaired.push(file);
  }
  for (const orphan of await orphanedPlugins(stack.workspace.workDir)) {
    say(`${stack.name}: stopping ${orphan.name} (pid ${orphan.pid}), left running by a killed engine`);
    await stopPid(orphan);
    recovery.stopped.push(`${orphan.pid} ${orphan.name}`);
  }

  // Our creates are adopted by hand: the pending create becomes a resource
  // with the id its create gives and its inputs as outputs, and the refresh
  // below reads it back — keeping it when it reached the host, dropping it
  // when it did not. (`refresh --import-pending-creates` does not read them
  // back in this Pulumi version.) Nothing can depend on a pending create, so
  // the end of the list keeps the resources in dependency order.
  const exported = await stack.exportStack();
  const deployment = exported.deployment as { resources?: unknown[]; pending_operations?: PendingOperation[] };
  const pending = deployment.pending_operations ?? [];
  const left: PendingOperation[] = [];
  for (const op of pending) {
    const { urn, type, inputs } = op.resource;
    if (op.type === "creating" && type.startsWith(OUR_TYPE) && inputs) {
      const id = idOf(type.slice(OUR_TYPE.length) as Kind, inputs);
      deployment.resources = [...(deployment.resources ?? []), { ...op.resource, id, outputs: inputs }];
      recovery.imported.push(`${urn} ${id}`);
    } else {
      left.push(op);
      recovery.cleared.push(`${urn} (${op.type})`);
    }
  }
  if (pending.length) {
    say(`${stack.name}: ${pending.length} pending operation(s): ${recovery.imported.length} create(s) to be read back from their hosts, ${recovery.cleared.length} to clear`);
    deployment.pending_operations = left;
    await stack.importStack(exported);
  }
  say(`${stack.name}: refresh`);
  await stack.refresh({ clearPendingCreates: true });
  return recovery;
}
