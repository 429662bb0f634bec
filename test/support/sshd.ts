// A real sshd for tests, in a lab host's namespace as on a real host: a
// management link (veth) from this machine's namespace to the host's, an
// RFC 5737 address on each end, sshd listening on the host's, on port 22 as
// well as a port of its own (the namespace is the host's: 22 is free there).
// Its own host keys, client key and pidfile; everything it started stopped by
// pid. It can refuse connections, change its host key, or stop answering;
// users other than root, with a sudo rule or without, log in with the same key.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { LabHost } from "../../lab/layout.ts";
import { runningFromPidfile, stopPid } from "../../lab/process.ts";
import { CommandError, exec, ignoring, waitFor, type HostSpec } from "../../provider/host.ts";
import { procStat } from "../../provider/proc.ts";

const run = promisify(execFile);
const local = { kind: "local" } as const;
/**
 * sshd's privilege separation directory, made when missing and left in place
 * (the system's sshd makes the same on start): lab files that run side by
 * side each start an sshd that needs it while the other's runs.
 */
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
  /**
   * The lab host, reached over SSH: the remote shell runs in its namespace, so its OVS run directory is all
   * a command needs. A stack that moves links out and back needs `netns` too: the namespace they go back to,
   * which on a real host is PID 1's.
   */
  spec(extra?: Partial<SshSpec>): SshSpec;
  /** Adds a public key ("ssh-ed25519 AAAA…") to the authorized keys here (every user's). */
  authorize(publicKey: string): Promise<void>;
  /**
   * A new user of this machine (and so of the lab host), not root, who logs in
   * with the client key; with `sudo`, a rule in /etc/sudoers.d lets it run
   * anything as root without a password. Its name; stop() removes both.
   */
  addUser(options: { sudo: boolean }): Promise<string>;
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
  await mkdir(PRIVSEP_DIR, { mode: 0o755, recursive: true });
  for (const key of ["host", "other", "client"]) await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, key)]);
  const authorizedKeys = join(dir, "authorized_keys");
  await writeFile(authorizedKeys, await readFile(join(dir, "client.pub")), { mode: 0o644 });
  // sshd reads a user's authorized keys as that user: the directory is passed through, not listed (the private keys in it are root's, mode 0600).
  await chmod(dir, 0o711);

  // A /30 of 203.0.113.0/24 that no link here has yet (another sshd's), at random; the link's name is unique per sshd.
  const taken = new Set((await exec(local, ["ip", "-4", "-o", "addr", "show"])).stdout.match(/203\.0\.113\.\d+/g)?.map((a) => Math.floor(Number(a.split(".")[3]) / 4)));
  const free = Array.from({ length: 64 }, (_, i) => i).filter((i) => !taken.has(i));
  const block = 4 * free[Math.floor(Math.random() * free.length)];
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
  /** Users made here, each with its sudoers rule's path (written or not). */
  const users = new Map<string, string>();

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
    async addUser({ sudo }: { sudo: boolean }) {
      const user = `ool${randomBytes(3).toString("hex")}`;
      // Password '*', not useradd's '!': without PAM, sshd refuses a locked account even a key. Home '/': sshd starts the shell there.
      await exec(local, ["useradd", "--no-create-home", "--home-dir", "/", "--shell", "/bin/sh", "--password", "*", user]);
      const rule = `/etc/sudoers.d/ool-test-${user}`;
      users.set(user, rule);
      if (sudo) {
        // Checked under a name sudo skips (with a '.'), then renamed into place: a broken file would break sudo for everyone here.
        const draft = join(dirname(rule), `.${user}`);
        try {
          await writeFile(draft, `${user} ALL=(root) NOPASSWD: ALL\n`, { mode: 0o440, flag: "wx" });
          await exec(local, ["visudo", "-c", "-q", "-f", draft]);
          await rename(draft, rule);
        } finally {
          await rm(draft, { force: true });
        }
      }
      return user;
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
      for (const [user, rule] of users) {
        await rm(rule, { force: true });
        // userdel refuses (exit 8) while a process of the user's still runs: its sessions end with sshd, but not at once.
        const removed = await waitFor(
          () =>
            exec(local, ["userdel", user]).then(
              () => true,
              (err: unknown) => {
                if (err instanceof CommandError && err.exitCode === 8) return false;
                throw err;
              },
            ),
          10_000,
        );
        if (!removed) throw new Error(`user ${user} of the test sshd is still in use after 10 s: remove it by hand (userdel ${user})`);
        users.delete(user);
      }
      await exec(local, ["ip", "link", "del", rootLink]).catch(ignoring("not-found")); // gone with the namespace already
      await rm(dir, { recursive: true, force: true });
    },
  };
  await sshd.serve();
  return sshd;
}
