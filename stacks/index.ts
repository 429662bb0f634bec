// The project's Pulumi program. The stack's config (stacks/Pulumi.<stack>.yaml)
// names the scenario and the variant, and the hosts — the built-in lab when
// none are given. See docs/stacks.md.
import { existsSync, readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, passphraseProblem, siteOf, type Scenario, type Site, type StackConfig } from "./config.ts";
import type { ScenarioOutputs } from "./expectations.ts";
import { gatewayFirewall, gatewayForward } from "./scenarios/gateway.ts";
import { internalVsNetvf, meter } from "./scenarios/point-to-point.ts";
import { virtioRelay } from "./scenarios/virtio-relay.ts";

const builders: Record<Scenario, (site: Site, config: StackConfig) => ScenarioOutputs> = {
  "internal-vs-netvf": internalVsNetvf,
  meter,
  "gateway-forward": gatewayForward,
  "gateway-firewall": gatewayFirewall,
  "virtio-relay": virtioRelay,
};

const cfg = new pulumi.Config();
/** A config value as YAML gave it: objects and numbers arrive as JSON text, a plain string as itself. */
function value(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    return text;
  }
}
/** The stack file's secrets provider (none written: the passphrase provider). */
function secretsProvider(): string | undefined {
  const file = `stacks/Pulumi.${pulumi.getStack()}.yaml`;
  return existsSync(file) ? /^secretsprovider:\s*(\S+)/m.exec(readFileSync(file, "utf8"))?.[1] : undefined;
}

/** The passphrase Pulumi was given, as it reads it. */
function passphrase(): string | undefined {
  const file = process.env.PULUMI_CONFIG_PASSPHRASE_FILE;
  return process.env.PULUMI_CONFIG_PASSPHRASE ?? (file && existsSync(file) ? readFileSync(file, "utf8").trim() : undefined);
}

// Every key of the project's namespace, so that a misspelt one is refused rather than ignored.
const raw = Object.fromEntries(
  Object.entries(pulumi.runtime.allConfig())
    .filter(([key]) => key.startsWith(`${cfg.name}:`))
    .map(([key, text]) => [key.slice(cfg.name.length + 1), value(text)]),
);
let config: StackConfig;
try {
  config = parseStackConfig(raw, cfg.name);
} catch (err) {
  // A Pulumi error: the message alone, no stack trace.
  throw new pulumi.RunError((err as Error).message);
}
const refused = passphraseProblem(config, pulumi.getStack(), secretsProvider(), passphrase());
if (refused) throw new pulumi.RunError(refused);
export default builders[config.scenario](siteOf(config), config);
