// Secrets never leave the SSH agent: a stack reaches a lab host over SSH with
// a passphrase-protected key held by ssh-agent, and neither the passphrase nor
// the private key appears in the state files, `pulumi stack export`, the
// engine's output (verbose logs included), an error message, or any process's
// arguments sampled while it ran. A private key pasted where a key *path*
// belongs is refused in check without being echoed or kept in any resource.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { stopPid } from "../../lab/process.ts";
import { testLabName } from "../support/machine.ts";
import { startSshd, type TestSshd } from "../support/sshd.ts";
import { testStack, type TestStack } from "../support/stack.ts";

const run = promisify(execFile);
const lab = labLayout(testLabName(), 1);
let sshd: TestSshd;
let agentPid: number | undefined;
let agentSock: string;
let passphrase: string;
/** The private key's base64 body, and a 40-character piece of it (what a partial leak would show). */
let keyBody: string;
let s: TestStack;

beforeAll(async () => {
  await labUp(lab, () => {});
  sshd = await startSshd(lab.hosts[0]);
  passphrase = `pp-${randomBytes(12).toString("base64url")}`;
  const key = join(sshd.dir, "agent-key");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", passphrase, "-C", "", "-f", key]);
  await sshd.authorize((await readFile(`${key}.pub`, "utf8")).trim());
  keyBody = (await readFile(key, "utf8")).split("\n").filter((l) => l && !l.startsWith("-----")).join("");

  agentSock = join(sshd.dir, "agent.sock");
  const { stdout } = await run("ssh-agent", ["-s", "-a", agentSock]);
  agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(stdout)?.[1]);
  // ssh-add asks for the passphrase through SSH_ASKPASS; the script reads it from a file removed right after.
  const askpass = join(sshd.dir, "askpass");
  await writeFile(join(sshd.dir, "pp"), passphrase, { mode: 0o600 });
  await writeFile(askpass, `#!/bin/sh\ncat ${join(sshd.dir, "pp")}\n`, { mode: 0o700 });
  await run("ssh-add", [key], { env: { ...process.env, SSH_AUTH_SOCK: agentSock, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: "none" } });
  await rm(join(sshd.dir, "pp"));
  await rm(key); // from here on only the agent holds it

  s = await testStack("resources", { env: { SSH_AUTH_SOCK: agentSock } });
});
afterAll(async () => {
  await s?.dispose();
  if (agentPid) await stopPid(agentPid);
  await sshd?.stop();
  await labDown(lab, () => {});
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Every process's arguments, as ps shows them. */
async function allCmdlines(): Promise<string[]> {
  const out: string[] = [];
  for (const pid of (await readdir("/proc")).filter((d) => /^\d+$/.test(d))) {
    out.push(await readFile(`/proc/${pid}/cmdline`, "utf8").then((c) => c.split("\0").join(" "), () => ""));
  }
  return out;
}

test("the agent's key and passphrase appear nowhere: state, export, engine output, errors, process arguments", async () => {
  const secrets = [passphrase, keyBody, keyBody.slice(20, 60)];
  const host = sshd.spec({ identityFile: undefined }); // the agent authenticates
  const spec = [
    { kind: "Bridge", name: "br", args: { host, name: "br-secret", datapathType: "netdev" } },
    { kind: "Flow", name: "f", dependsOn: ["br"], args: { host, bridge: "br-secret", match: "in_port=1", actions: "drop" } },
  ];
  const seen: { where: string; text: string }[] = [];
  const cmdlines = new Set<string>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      for (const c of await allCmdlines()) cmdlines.add(c);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    await s.stack.setConfig("spec", { value: JSON.stringify(spec) });
    const verbose: string[] = [];
    const up = await s.stack.up({ logVerbosity: 9, logToStdErr: true, debug: true, onError: (e) => verbose.push(e) });
    expect(up.summary.resourceChanges).toEqual({ create: 4 });
    seen.push({ where: "up output", text: up.stdout + up.stderr }, { where: "up verbose log (-v=9)", text: verbose.join("") });
    seen.push({ where: "preview --diff", text: (await s.preview(spec)).stdout });
    // An error on the same path: the server's key is not the expected one.
    const wrong = [{ ...spec[0], args: { ...spec[0].args, host: { ...host, hostKey: sshd.otherHostKey } } }];
    const failure = await s.up(wrong).then(() => undefined, (e: Error) => e);
    expect(failure?.message).toMatch(/Host key verification failed/);
    seen.push({ where: "error message", text: failure!.message });
    seen.push({ where: "stack export", text: JSON.stringify(await s.stack.exportStack()) });
    seen.push({ where: "destroy output", text: (await s.stack.destroy()).stdout });
  } finally {
    sampling = false;
    await sampler;
  }
  const files = await filesUnder(join(s.dir, "state"));
  for (const f of files) seen.push({ where: f, text: await readFile(f, "utf8") });
  seen.push({ where: "process arguments", text: [...cmdlines].join("\n") });

  const bytes = seen.reduce((n, x) => n + x.text.length, 0);
  console.log(
    `secrets: ${secrets.length} strings looked for in ${seen.length} places (${files.length} state files, ${cmdlines.size} distinct process command lines), ${(bytes / 1e6).toFixed(1)} MB: ` +
      `${seen.filter((x) => secrets.some((sec) => x.text.includes(sec))).length} hits`,
  );
  // The search finds what is there: the agent's socket path is in the engine's environment, not a secret, and shows up in no argument either.
  expect(seen.some((x) => x.text.includes("br-secret"))).toBe(true);
  expect(seen.filter((x) => secrets.some((sec) => x.text.includes(sec))).map((x) => x.where)).toEqual([]);
});

test("a private key pasted where a key path belongs is refused in check, not echoed, kept in no resource", async () => {
  const pasted = `-----BEGIN OPENSSH PRIVATE KEY-----\n${keyBody}\n-----END OPENSSH PRIVATE KEY-----\n`;
  const spec = [{ kind: "Bridge", name: "br", args: { host: sshd.spec({ identityFile: pasted }), name: "br-x", datapathType: "netdev" } }];
  const failure = await s.up(spec).then(() => undefined, (e: Error) => e);
  expect(failure?.message).toMatch(/property host\.identityFile value \{<nil>\} has a problem: must be an absolute path/);
  // Pulumi itself keeps plain stack config (here the fixture's "spec") in the state, as the default provider's
  // inputs: what is secret belongs in `pulumi config set --secret`. Our part: the error and every resource.
  const resources = ((await s.stack.exportStack()).deployment.resources ?? []) as { type: string }[];
  const ours = resources.filter((r) => !r.type.startsWith("pulumi:providers:"));
  expect([failure!.message, JSON.stringify(ours)].filter((t) => t.includes(keyBody.slice(20, 60)))).toEqual([]);
});
