// docs/hardware.md against the code, so the page cannot drift from it: its
// stack file parses with the stack config schema (as stacks/index.ts reads
// it), its set-up program imports what the provider exports, its addresses
// are documentation ones, and every `npm run scenario` command and option it
// uses is one the CLI's --help names.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import * as provider from "../../provider/index.ts"; // what @ovs-offload-lab/provider exports
import { scenarioOf } from "../../runner/stacks.ts";
import { parseStackConfig, siteOf, type StackConfig } from "../../stacks/config.ts";

const REPO = join(import.meta.dirname, "..", "..");
const NAMESPACE = "ovs-offload-lab";
const page = readFileSync(join(REPO, "docs", "hardware.md"), "utf8");

// The YAML parser the Pulumi SDK itself depends on (js-yaml 4); the project has
// no YAML dependency of its own and js-yaml ships no types, hence require.
const { load } = createRequire(import.meta.url)("js-yaml") as { load(text: string): unknown };

/** The page's fenced blocks in `language`. */
const blocks = (language: string) => [...page.matchAll(new RegExp("^```" + language + "\\n([\\s\\S]*?)^```", "gm"))].map((m) => m[1]);

/** A stack file as Pulumi reads it: the project's keys under `config`, without the namespace. */
function stackFile(text: string): { name: string; raw: Record<string, unknown> } {
  const name = /^# stacks\/Pulumi\.([a-z0-9-]+)\.yaml$/m.exec(text)?.[1];
  if (!name) throw new Error(`a yaml block of docs/hardware.md does not start with "# stacks/Pulumi.<stack>.yaml":\n${text}`);
  const doc = load(text) as { config: Record<string, unknown> };
  const raw = Object.fromEntries(Object.entries(doc.config).map(([key, value]) => [key.replace(`${NAMESPACE}:`, ""), value]));
  return { name, raw };
}

const files = blocks("yaml").map(stackFile);

/** Is `ip` in 192.0.2.0/24, 198.51.100.0/24 or 203.0.113.0/24 (RFC 5737)? */
const documentation = (ip: string) => /^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}$/.test(ip);

describe("docs/hardware.md", () => {
  test("has a stack file for two Agilio hosts and a gateway", () => {
    expect(files.map((f) => f.name)).toEqual(["meter-offload-rack2"]);
  });

  test.each(files.map((f) => [f.name, f.raw] as const))("stacks/Pulumi.%s.yaml is a valid stack config, as the page describes it", (name, raw) => {
    const config: StackConfig = parseStackConfig(raw, NAMESPACE);
    // What the runner takes the stack to build (npm run scenario -- … --stack <name>).
    expect(scenarioOf(name, raw, NAMESPACE)).toEqual({ scenario: config.scenario, variant: config.variant });
    expect(`${config.scenario}-${config.variant}`).toBe(name.replace(/-rack2$/, ""));
    const hosts = config.hosts!;
    expect(Object.keys(hosts).sort()).toEqual(["gateway", "host1", "host2"]);
    // One host reached as root, one through sudo on another port.
    expect(hosts.host1.host).toMatchObject({ kind: "ssh", user: "root" });
    expect(hosts.host2.host).toMatchObject({ kind: "ssh", become: "sudo", port: 2222 });
    const site = siteOf(config);
    expect(site.netnsPrefix).toBe("");
    // VFs 0 and 1 on host1 (every scenario but 5), VF 0 on host2 with its representor named.
    expect([site.hosts.host1!.vfPci(0), site.hosts.host1!.vfPci(1), site.hosts.host1!.representor(0)]).toEqual(["0000:04:08.0", "0000:04:08.1", undefined]);
    expect([site.hosts.host2!.vfPci(0), site.hosts.host2!.representor(0)]).toEqual(["0000:04:08.0", "sdn_v0.0"]);
    expect(site.hosts.gateway!.datapathType).toBe("system");
    // The same hosts serve the gateway scenarios.
    expect(parseStackConfig({ ...raw, scenario: "gateway-firewall" }, NAMESPACE).hosts).toEqual(config.hosts);
  });

  test("its program for the host set-up imports what the provider package exports", () => {
    const [program] = blocks("ts");
    const names = /^import \{ ([^}]+) \} from "@ovs-offload-lab\/provider";$/m.exec(program)?.[1].split(",").map((n) => n.trim());
    expect(names).toEqual(["OvsConfig", "SriovPf"]);
    for (const name of names!) expect(provider, name).toHaveProperty(name);
  });

  test("every address in the page is a documentation address (RFC 5737)", () => {
    const addresses = [...page.matchAll(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/g)].map((m) => m[0]);
    expect(addresses.length).toBeGreaterThan(5);
    expect(addresses.filter((a) => !documentation(a))).toEqual([]);
  });

  test("every npm run scenario command and option it uses is in the CLI's --help", async () => {
    const { stdout: help } = await promisify(execFile)(process.execPath, ["runner/cli.ts", "--help"], { cwd: REPO });
    const uses = [...page.matchAll(/npm run scenario -- ([a-z-]+)([^\n`]*)/g)];
    expect(uses.length).toBeGreaterThan(4);
    for (const [, command, rest] of uses) {
      expect(help, command).toMatch(new RegExp(`^  ${command}(\\s|$)`, "m"));
      for (const option of rest.match(/--[a-z-]+/g) ?? []) expect(help, option).toContain(`${option} `);
    }
    // Each command is run on the page's own stack.
    for (const [, , rest] of uses) if (/--stack/.test(rest)) expect(rest).toContain(`--stack ${files[0].name}`);
  });
});
