// After an engine was killed in the middle of an update (SIGKILL, a second
// Ctrl-C, OOM, a lost terminal): the stale lock it left, the Pulumi plugins
// it left running, and its pending operations — so that `up` converges.
import { readdir, readFile, readlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { automation } from "@pulumi/pulumi";
import { cmdline, stopPid } from "../lab/process.ts";
import type { Kind } from "../provider/loader.ts";
import { ancestorNamed, isRunning } from "../provider/proc.ts";
import { idOf } from "../provider/runtime.ts";
import { TYPE_MODULE } from "../provider/resource.ts";

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
  /** The pid whose stale lock was removed. */
  staleLock?: number;
  /** Plugins of a dead engine that were stopped, as "pid name". */
  stopped: string[];
  /** Pending creates imported under the id their create gives (refresh then keeps those found on their hosts). */
  imported: string[];
  /** Pending operations refresh cleared. */
  cleared: string[];
}

/** The file backend's locks on this stack (the only backend whose locks we can judge). */
async function locks(stack: automation.Stack): Promise<{ file: string; lock: Lock }[]> {
  const { url } = await stack.workspace.whoAmI();
  if (!url?.startsWith("file://")) return [];
  const root = url.startsWith("file:///") ? fileURLToPath(url.split("?")[0]) : join(stack.workspace.workDir, url.slice("file://".length).split("?")[0]);
  const project = (await stack.workspace.projectSettings()).name;
  const dir = join(root, ".pulumi", "locks", "organization", project, stack.name);
  const files = await readdir(dir).catch(() => [] as string[]);
  return Promise.all(files.filter((f) => f.endsWith(".json")).map(async (f) => ({ file: join(dir, f), lock: JSON.parse(await readFile(join(dir, f), "utf8")) as Lock })));
}

/**
 * Pulumi plugins (language host, providers) running from the stack's project
 * with no live engine above them: what a killed engine leaves (pulumi/pulumi#8696).
 */
async function orphanedPlugins(workDir: string): Promise<{ pid: number; name: string }[]> {
  const found: { pid: number; name: string }[] = [];
  for (const entry of await readdir("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const argv = await cmdline(pid);
    const plugin = argv?.slice(0, 2).map((a) => a.split("/").pop() ?? "").find((a) => /^pulumi-(language|resource)-/.test(a));
    if (!plugin) continue;
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => "");
    if (cwd !== workDir && !cwd.startsWith(`${workDir}/`)) continue;
    if (ancestorNamed(pid, "pulumi") === undefined) found.push({ pid, name: plugin });
  }
  return found;
}

/**
 * Makes a stack whose last update was cut short ready for `up` again:
 * removes its lock when the engine that holds it no longer runs on this
 * machine (and refuses when it still does), stops the plugins that engine left,
 * and refreshes — importing each of our pending creates under the id its
 * create gives, so that refresh keeps what reached the host and drops what did
 * not, and clearing the other pending operations.
 */
export async function recoverStack(stack: automation.Stack, say: (line: string) => void): Promise<Recovery> {
  const recovery: Recovery = { stopped: [], imported: [], cleared: [] };
  for (const { file, lock } of await locks(stack)) {
    if (lock.hostname !== hostname()) throw new Error(`${stack.name} is locked by pid ${lock.pid} on ${lock.hostname} (${file}); recover it there, or run \`pulumi cancel\` once you know that update has ended`);
    if (isRunning(lock.pid, "pulumi")) throw new Error(`${stack.name} is being updated by pulumi (pid ${lock.pid}, since ${lock.timestamp}); let it finish, or interrupt it (Ctrl-C), then run recover again`);
    say(`${stack.name}: removing the lock of pulumi pid ${lock.pid} (${lock.timestamp}), which no longer runs`);
    await stack.cancel();
    recovery.staleLock = lock.pid;
  }
  for (const orphan of await orphanedPlugins(stack.workspace.workDir)) {
    say(`${stack.name}: stopping ${orphan.name} (pid ${orphan.pid}), left running by a killed engine`);
    await stopPid(orphan.pid);
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
