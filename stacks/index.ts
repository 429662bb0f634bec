// The project's Pulumi program. The stack's config (stacks/Pulumi.<stack>.yaml)
// names the scenario and the variant, and the hosts — the built-in lab when
// none are given. See docs/stacks.md.
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig, siteOf, stackConfig, type Scenario, type Site, type StackConfig } from "./config.ts";
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
/** A config value as YAML gave it: objects and numbers arrive as JSON text. */
function value(key: string): unknown {
  const text = cfg.get(key);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
const raw = Object.fromEntries(Object.keys(stackConfig.shape).map((k) => [k, value(k)]).filter(([, v]) => v !== undefined));
const config = parseStackConfig(raw, cfg.name);
export default builders[config.scenario](siteOf(config), config);
