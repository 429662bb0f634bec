// iproute2 on a host: JSON output (`ip -j`) parsed in one place, and the
// namespace lookups the netns resources share.
//
// Namespace commands run on the machine with `ip -n`, never inside a lab
// host's namespace: `ip netns exec` gives its command a private mount
// namespace, so an `ip netns add` run in there would vanish with it.
import { CommandError, exec, ignoring, onMachine, type ExecOptions, type HostSpec } from "./host.ts";

export interface IpLink {
  ifname: string;
  address?: string;
  mtu: number;
  flags: string[];
  altnames?: string[];
}

/** The host's own namespace, when it is a named one. */
function ownNetns(host: HostSpec): string | undefined {
  return host.kind === "local" ? undefined : host.netns;
}

/**
 * Runs `ip` in namespace `netns` of the host's machine; undefined means the
 * host's own namespace.
 */
export function ipExec(host: HostSpec, netns: string | undefined, args: string[], options?: ExecOptions) {
  const ns = netns ?? ownNetns(host);
  return exec(onMachine(host), ["ip", ...(ns ? ["-n", ns] : []), ...args], options);
}

export async function netnsNames(host: HostSpec): Promise<string[]> {
  const { stdout } = await exec(onMachine(host), ["ip", "-j", "netns", "list"]);
  return (JSON.parse(stdout || "[]") as { name: string }[]).map((n) => n.name);
}

/**
 * Makes namespace `name` with its loopback up and `mark` (when given) as the
 * loopback's altname: a namespace has no other place for an owner's mark, and
 * the mark goes when the namespace does. All or nothing: a namespace that
 * cannot be set up is deleted again.
 */
export async function addNetns(host: HostSpec, name: string, mark?: string): Promise<void> {
  await exec(onMachine(host), ["ip", "netns", "add", name]);
  try {
    await ipBatch(host, name, ["link set dev lo up", ...(mark ? [`link property add dev lo altname ${mark}`] : [])]);
  } catch (err) {
    await deleteNetns(host, name);
    throw err;
  }
}

/**
 * Whether `err`, from a command in a namespace the host listed, means that
 * namespace cannot be entered (being made or deleted right now, or a stale
 * name under /run/netns) rather than that the machine cannot be reached: over
 * SSH both are "unreachable", so the machine is asked again.
 */
async function cannotEnter(host: HostSpec, err: unknown): Promise<boolean> {
  if (!(err instanceof CommandError && err.kind === "unreachable")) return false;
  await netnsNames(host); // throws when it is the machine
  return true;
}

/**
 * The altnames of namespace `name`'s loopback (its marks), or undefined when
 * there is no such namespace; one that is listed but cannot be entered bears
 * no mark of ours.
 */
export async function netnsMarks(host: HostSpec, name: string): Promise<string[] | undefined> {
  if (!(await netnsNames(host)).includes(name)) return undefined;
  try {
    return (await linkIn(host, name, "lo"))?.altnames ?? [];
  } catch (err) {
    if (await cannotEnter(host, err)) return [];
    throw err;
  }
}

export async function deleteNetns(host: HostSpec, name: string): Promise<void> {
  await exec(onMachine(host), ["ip", "netns", "del", name]);
}

/** A link by name (or altname) in a namespace (undefined: the host's own), or undefined when it is not there. */
export async function linkIn(host: HostSpec, netns: string | undefined, name: string): Promise<IpLink | undefined> {
  // A missing namespace or host ("unreachable") is not an answer.
  const shown = await ipExec(host, netns, ["-j", "link", "show", "dev", name]).catch(ignoring("not-found"));
  return shown && (JSON.parse(shown.stdout) as IpLink[])[0];
}

/** `ip -j` output of a command in a namespace, parsed. */
export async function ipJson<T>(host: HostSpec, netns: string | undefined, args: string[]): Promise<T[]> {
  return JSON.parse((await ipExec(host, netns, ["-j", ...args])).stdout || "[]") as T[];
}

/** Runs `ip` commands, one a line, in one process. */
export async function ipBatch(host: HostSpec, netns: string | undefined, lines: string[]): Promise<void> {
  if (lines.length) await ipExec(host, netns, ["-batch", "-"], { stdin: lines.join("\n") + "\n" });
}

/**
 * Where a link is now: "" for the host's own namespace, a namespace name, or
 * undefined when it is in none of them. Found by an altname, which follows a
 * link into any namespace.
 */
export async function whereIs(host: HostSpec, altname: string): Promise<string | undefined> {
  if (await linkIn(host, undefined, altname)) return "";
  for (const netns of await netnsNames(host)) {
    try {
      if (await linkIn(host, netns, altname)) return netns;
    } catch (err) {
      // One that cannot be entered holds nothing of ours.
      if (!(await cannotEnter(host, err))) throw err;
    }
  }
  return undefined;
}

/** The argument of `ip link set … netns` that means "back to this host's own namespace". */
export function hostNetns(host: HostSpec): string {
  // PID 1 lives in a machine's root namespace; a lab host is a named namespace.
  return ownNetns(host) ?? "1";
}
