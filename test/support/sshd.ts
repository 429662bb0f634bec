// A real sshd for tests, on loopback, with its own host key, client key and
// pidfile, stopped by pid.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { runningFromPidfile, stopPid } from "../../lab/process.ts";
import type { HostSpec } from "../../provider/host.ts";

const run = promisify(execFile);
/** sshd's privilege separation directory; made (and removed) only when missing. */
const PRIVSEP_DIR = "/run/sshd";

export interface TestSshd {
  port: number;
  hostKey: string;
  /** A key sshd does not have: connections with it must be refused. */
  otherHostKey: string;
  spec(extra?: Partial<Extract<HostSpec, { kind: "ssh" }>>): Extract<HostSpec, { kind: "ssh" }>;
  stop(): Promise<void>;
}

export async function startSshd(): Promise<TestSshd> {
  const dir = await mkdtemp(join(tmpdir(), "ool-sshd-"));
  const madePrivsep = !existsSync(PRIVSEP_DIR);
  if (madePrivsep) await mkdir(PRIVSEP_DIR, { mode: 0o755 });
  for (const key of ["host", "other", "client"]) await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, key)]);
  await writeFile(join(dir, "authorized_keys"), await readFile(join(dir, "client.pub")));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const pidfile = join(dir, "sshd.pid");
  await writeFile(
    join(dir, "sshd_config"),
    [
      `Port ${port}`, "ListenAddress 127.0.0.1", `HostKey ${join(dir, "host")}`, `PidFile ${pidfile}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`, "StrictModes no", "UsePAM no", "PasswordAuthentication no",
      "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password", "MaxStartups 100", "MaxSessions 100",
    ].join("\n") + "\n",
  );
  await run("/usr/sbin/sshd", ["-f", join(dir, "sshd_config")]);
  const pubkey = async (k: string) => (await readFile(join(dir, `${k}.pub`), "utf8")).split(" ").slice(0, 2).join(" ");
  const hostKey = await pubkey("host");
  const otherHostKey = await pubkey("other");
  return {
    port,
    hostKey,
    otherHostKey,
    spec: (extra = {}) => ({ kind: "ssh", address: "127.0.0.1", port, user: "root", identityFile: join(dir, "client"), hostKey, ...extra }),
    async stop() {
      const pid = await runningFromPidfile(pidfile, "sshd");
      if (pid !== undefined) await stopPid(pid);
      await rm(dir, { recursive: true, force: true });
      if (madePrivsep) await rm(PRIVSEP_DIR, { recursive: true, force: true });
    },
  };
}
