// What provider/loader.ts loads in the provider process: each kind's lifecycle.
// Loading it there also ties that process's life to its engine's.
import { bridgeProvider } from "./bridge.ts";
import { flowSetProvider } from "./flow.ts";
import { stackInstanceProvider } from "./instance.ts";
import type { Kind } from "./loader.ts";
import { meterProvider } from "./meter.ts";
import { netnsProvider } from "./netns.ts";
import { netnsLinkProvider } from "./netns-link.ts";
import { ovsConfigProvider } from "./ovs-config.ts";
import { portProvider } from "./port.ts";
import { ancestorNamed, procIdentity, stillRunning } from "./proc.ts";
import { sriovPfProvider } from "./sriov-pf.ts";
import { vethProvider } from "./veth.ts";
import { vfBindingProvider } from "./vf-binding.ts";

export const providers = {
  StackInstance: stackInstanceProvider,
  OvsConfig: ovsConfigProvider,
  Bridge: bridgeProvider,
  Port: portProvider,
  Meter: meterProvider,
  FlowSet: flowSetProvider,
  SriovPf: sriovPfProvider,
  VfBinding: vfBindingProvider,
  Netns: netnsProvider,
  NetnsLink: netnsLinkProvider,
  Veth: vethProvider,
} satisfies Record<Kind, unknown>;

/** The id `kind`'s create gives the object with these (checked) inputs. */
export function idOf(kind: Kind, inputs: Record<string, unknown>): string {
  return (providers[kind].idOf as (inputs: unknown) => string)(inputs);
}

/**
 * An engine killed outright (SIGKILL, OOM) leaves its plugins running
 * (pulumi/pulumi#8696), and a provider that outlived it would go on changing
 * hosts that nobody watches any more. So the provider process exits within a
 * second of its engine, the nearest `pulumi` among its ancestors — that very
 * process, not whatever is given its pid afterwards.
 */
function exitWithEngine(): void {
  const pid = ancestorNamed(process.pid, "pulumi");
  const engine = pid === undefined ? undefined : procIdentity(pid);
  if (engine === undefined) return;
  setInterval(() => {
    if (!stillRunning(engine)) {
      process.stderr.write(`ovs-offload-lab provider: the Pulumi engine (pid ${engine.pid}) is gone; stopping\n`);
      process.exit(1);
    }
  }, 500).unref();
}

if (process.argv[1]?.endsWith("dynamic-provider/index.js")) exitWithEngine();
