// The stack's config through the CLI: a misspelt key is refused, not
// ignored; the lab passphrase is public: lab stacks may use it, a stack on
// real hosts never does, and scripts/env never prints a passphrase of the
// user's own.
import { execFile } from "node:child_process";
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LAB_PASSPHRASE, parseStackConfig, passphraseProblem } from "../../stacks/config.ts";
import { waitFor } from "../../provider/host.ts";
import { REPO } from "../../runner/stacks.ts";
import { projectCopy, type ProjectCopy } from "../support/project.ts";

const run = promisify(execFile);
const lab = parseStackConfig({ scenario: "meter", variant: "offload" }, "ovs-offload-lab");
const rack = { host: { kind: "ssh", address: "192.0.2.10", user: "root" }, underlayIp: "192.0.2.10", vfs: { "0": "0000:81:08.0" } };
const real = parseStackConfig({ scenario: "meter", variant: "offload", hosts: { host1: rack, host2: { ...rack, underlayIp: "192.0.2.11" } } }, "ovs-offload-lab");

describe("passphraseProblem", () => {
  test.each([
    ["a lab stack with the lab passphrase", lab, undefined, LAB_PASSPHRASE, false],
    ["real hosts with the lab passphrase", real, undefined, LAB_PASSPHRASE, true],
    ["real hosts with the lab passphrase, provider named", real, "passphrase", LAB_PASSPHRASE, true],
    ["real hosts with the user's own passphrase", real, undefined, "correct horse", false],
    ["real hosts with a KMS secrets provider", real, "awskms://alias/x", LAB_PASSPHRASE, false],
  ])("%s: refused %s", (_, config, provider, passphrase, refused) => {
    expect(passphraseProblem(config, "rack2", provider, passphrase) !== undefined).toBe(refused);
  });
});

describe("scripts/env", () => {
  const env = (extra: Record<string, string>) => {
    const { PULUMI_CONFIG_PASSPHRASE: _, PULUMI_CONFIG_PASSPHRASE_FILE: __, ...rest } = process.env;
    return run(join(REPO, "scripts/env"), [], { env: { ...rest, ...extra } }).then((r) => r.stdout);
  };
  test("prints the lab passphrase when the user has none", async () => {
    expect(await env({})).toContain(`export PULUMI_CONFIG_PASSPHRASE=${LAB_PASSPHRASE}`);
  });
  test("never prints the user's own passphrase, nor the lab's instead of it", async () => {
    expect(await env({ PULUMI_CONFIG_PASSPHRASE: "my-own-secret-phrase" })).not.toContain("PASSPHRASE");
    expect(await env({ PULUMI_CONFIG_PASSPHRASE_FILE: "/nonexistent/phrase" })).not.toContain("PASSPHRASE");
  });
});

/**
 * Runs `command` in a terminal of a tmux server of its own, answering each
 * prompt as it appears; resolves with the screen once the command has exited 0.
 */
async function atTerminal(command: string, cwd: string, answers: [RegExp, string][]): Promise<string> {
  const tmux = (...args: string[]) => run("tmux", ["-L", `ool-test-${process.pid}`, ...args], { cwd }).then((r) => r.stdout);
  const screen = () => tmux("capture-pane", "-p", "-S", "-100");
  await tmux("new-session", "-d", "-x", "200", "-y", "50", `${command}; echo "exit status $?"; sleep 600`);
  try {
    for (const [prompt, answer] of answers) {
      if (!(await waitFor(async () => prompt.test(await screen()), 30_000))) throw new Error(`no prompt ${prompt} from \`${command}\`:\n${await screen()}`);
      await tmux("send-keys", answer, "Enter");
    }
    if (!(await waitFor(async () => /exit status \d+/.test(await screen()), 60_000))) throw new Error(`\`${command}\` did not finish:\n${await screen()}`);
    const text = await screen();
    expect(text).toMatch(/exit status 0/);
    return text;
  } finally {
    await tmux("kill-server");
  }
}

describe("a stack on real hosts, through the CLI", () => {
  let project: ProjectCopy;
  beforeAll(async () => {
    project = await projectCopy();
  });
  afterAll(() => project?.remove());

  const preview = (stack: string, passphrase: string) =>
    run("pulumi", ["preview", "--stack", stack, "--non-interactive"], { cwd: project.dir, env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: passphrase } }).then(
      (r) => ({ ok: true, out: r.stdout + r.stderr }),
      (err: { stdout: string; stderr: string }) => ({ ok: false, out: err.stdout + err.stderr }),
    );
  /** A stack of the project on two real hosts (reached by nobody: preview runs no command). */
  const configure = async (stack: string, passphrase: string) => {
    await run("pulumi", ["stack", "init", stack, "--non-interactive"], { cwd: project.dir, env: { ...process.env, PULUMI_CONFIG_PASSPHRASE: passphrase } });
    const hosts = { host1: rack, host2: { ...rack, underlayIp: "192.0.2.11" } };
    await appendFile(join(project.dir, "stacks", `Pulumi.${stack}.yaml`), `config:\n  ovs-offload-lab:scenario: meter\n  ovs-offload-lab:variant: offload\n  ovs-offload-lab:hosts: ${JSON.stringify(hosts)}\n`);
  };

  test("a misspelt key is refused naming the nearest one, as a Pulumi error without a stack trace", async () => {
    await run("pulumi", ["stack", "init", "typo", "--non-interactive"], { cwd: project.dir });
    await appendFile(join(project.dir, "stacks", "Pulumi.typo.yaml"), "config:\n  ovs-offload-lab:scenario: meter\n  ovs-offload-lab:variant: classic\n  ovs-offload-lab:host: {}\n");
    const refused = await preview("typo", LAB_PASSPHRASE);
    expect(refused.ok).toBe(false);
    expect(refused.out).toMatch(/ovs-offload-lab:host: not a key of this project \(did you mean ovs-offload-lab:hosts\?\)/);
    expect(refused.out).not.toMatch(/^\s+at .*\.ts:\d+/m);
  });

  test("is refused under the lab passphrase, with the way out and no stack trace; under its own it previews", async () => {
    await configure("rack2", LAB_PASSPHRASE);
    const refused = await preview("rack2", LAB_PASSPHRASE);
    expect(refused.ok).toBe(false);
    expect(refused.out).toMatch(/stack rack2 builds on real hosts, but its secrets are under the public lab passphrase/);
    expect(refused.out).toMatch(/pulumi stack change-secrets-provider --stack rack2 passphrase/);
    expect(refused.out).not.toMatch(/^\s+at .*\.ts:\d+/m);

    // What the message says to do, at a terminal as a user would: it asks twice.
    await atTerminal(`PULUMI_CONFIG_PASSPHRASE=${LAB_PASSPHRASE} pulumi stack change-secrets-provider --stack rack2 passphrase`, project.dir, [
      [/Enter your new passphrase/, "my own phrase"],
      [/Re-enter your new passphrase/, "my own phrase"],
    ]);
    const own = await preview("rack2", "my own phrase");
    expect(own.out).not.toMatch(/public lab passphrase/);
    expect(own.ok).toBe(true);
  });
});
