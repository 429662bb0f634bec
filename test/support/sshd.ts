// A real sshd for tests, in a lab host's namespace as on a real host: a
// management link (veth) from this machine's namespace to the host's, an
// RFC 5737 address on each end, sshd listening on the host's, on port 22 as
// well as a port of its own (the namespace is the host's: 22 is free there).
// Its own host keys, client key and pidfile; everything it started stopped by
// pid. It can refuse connections, change its host key, or stop answering.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { LabHost } from "../../lab/layout.ts";
import { runningFromPidfile, stopPid } from "../../lab/process.ts";
import { exec, ignoring, waitFor, type HostSpec } from "../../provider/host.ts";
import { procStat } from "../../provider/proc.ts";

const run = promisify(execFile);
const local = { kind: "local" } as const;
/** sshd's privilege separation directory; made (and removed) only when missing. */
const PRIVSEP_DIR = "/run/sshd";

type SshSpec = Extract<HostSpec, { kind: "ssh" }>;

export interface TestSshd {
  address: string;
  /** A port of its own; sshd listens on 22 too, where ssh looks host keys up differently. */
  port: number;
  /** The key sshd serves now. */
  hostKey: string;
  /** A key sshd does not have: connections expecting it must be refused. */
  otherHostKey: string;
  /** The client's private key file (no passphrase). */
  identityFile: string;
  dir: string;
  /** The lab host, reached over SSH: the remote shell runs in its namespace, so only its OVS run directory is needed. */
  spec(extra?: Partial<SshSpec>): SshSpec;
  /** Adds a public key ("ssh-ed25519 AAAA…") to root's authorized keys here. */
  authorize(publicKey: string): Promise<void>;
  /** Stops sshd and every connection it serves: connections are refused. */
  refuse(): Promise<void>;
  /** Starts sshd again, with `key` ("host" or "other") as its host key. */
  serve(key?: "host" | "other"): Promise<void>;
  /** Stops (SIGSTOP) or resumes every sshd of ours: a host that accepts connections and never answers. */
  freeze(frozen: boolean): Promise<void>;
  stop(): Promise<void>;
}

export async function startSshd(host: LabHost): Promise<TestSshd> {
  const dir = await mkdtemp(join(tmpdir(), "ool-sshd-"));
  const madePrivsep = !existsSync(PRIVSEP_DIR);
  if (madePrivsep) await mkdir(PRIVSEP_DIR, { mode: 0o755 });
  for (const key of ["host", "other", "client"]) await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, key)]);
  const authorizedKeys = join(dir, "authorized_keys");
  await writeFile(authorizedKeys, await readFile(join(dir, "client.pub")));

  // A /30 of 203.0.113.0/24 of its own; the link's name is unique per sshd.
  const block = 4 * Math.floor(Math.random() * 64);
  const [here, there] = [`203.0.113.${block + 1}`, `203.0.113.${block + 2}`];
  const rootLink = `mg${dir.slice(-6).toLowerCase().replace(/[^a-z0-9]/g, "0")}`;
  await exec(local, ["ip", "link", "add", rootLink, "type", "veth", "peer", "name", "mgmt0", "netns", host.netns]);
  await exec(local, ["ip", "addr", "add", `${here}/30`, "dev", rootLink]);
  await exec(local, ["ip", "link", "set", rootLink, "up"]);
  await exec(host.spec, ["ip", "addr", "add", `${there}/30`, "dev", "mgmt0"]);
  await exec(host.spec, ["ip", "link", "set", "mgmt0", "up"]);

  const port = 20000 + Math.floor(Math.random() * 20000);
  const pidfile = join(dir, "sshd.pid");
  const pubkey = async (k: string) => (await readFile(join(dir, `${k}.pub`), "utf8")).split(" ").slice(0, 2).join(" ");
  const keys = { host: await pubkey("host"), other: await pubkey("other") };
  let serving: keyof typeof keys = "host";

  /** Every sshd of ours: the listener and the one per connection (all run in the host's namespace from our config). */
  const ours = async () => {
    const { stdout } = await exec(local, ["ip", "netns", "pids", host.netns]);
    return stdout.split(/\s+/).filter(Boolean).map(Number).filter((pid) => procStat(pid)?.comm === "sshd");
  };
  const sshd = {
    address: there,
    port,
    get hostKey() {
      return keys[serving];
    },
    otherHostKey: keys.other,
    identityFile: join(dir, "client"),
    dir,
    spec: (extra: Partial<SshSpec> = {}): SshSpec => ({
      kind: "ssh", address: there, port, user: "root", identityFile: join(dir, "client"), hostKey: keys.host, ovsRundir: host.ovsRundir, ...extra,
    }),
    async authorize(publicKey: string) {
      await writeFile(authorizedKeys, `${publicKey}\n`, { flag: "a" });
    },
    async refuse() {
      for (const pid of await ours()) await stopPid(pid);
    },
    async serve(key: keyof typeof keys = "host") {
      serving = key;
      await writeFile(
        join(dir, "sshd_config"),
        [
          `Port ${port}`, "Port 22", `ListenAddress ${there}`, `HostKey ${join(dir, key)}`, `PidFile ${pidfile}`,
          `AuthorizedKeysFile ${authorizedKeys}`, "StrictModes no", "UsePAM no", "PasswordAuthentication no",
          "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password", "MaxStartups 100", "MaxSessions 100",
        ].join("\n") + "\n",
      );
      await exec(host.spec, ["/usr/sbin/sshd", "-f", join(dir, "sshd_config")]);
      if (!(await waitFor(async () => (await runningFromPidfile(pidfile, "sshd")) !== undefined, 5000))) throw new Error("sshd did not start");
    },
    async freeze(frozen: boolean) {
      for (const pid of await ours()) process.kill(pid, frozen ? "SIGSTOP" : "SIGCONT");
    },
    async stop() {
      await sshd.freeze(false);
      await sshd.refuse();
      await exec(local, ["ip", "link", "del", rootLink]).catch(ignoring("not-found")); // gone with the namespace already
      await rm(dir, { recursive: true, force: true });
      if (madePrivsep) await rm(PRIVSEP_DIR, { recursive: true, force: true });
    },
  };
  await sshd.serve();
  return sshd;
}
