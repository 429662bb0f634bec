// What provider/loader.ts loads in the provider process: each kind's lifecycle.
import { bridgeProvider } from "./bridge.ts";
import { flowSetProvider } from "./flow.ts";
import type { Kind } from "./loader.ts";
import { meterProvider } from "./meter.ts";
import { netnsProvider } from "./netns.ts";
import { netnsLinkProvider } from "./netns-link.ts";
import { portProvider } from "./port.ts";
import { vethProvider } from "./veth.ts";
import { vfBindingProvider } from "./vf-binding.ts";

export const providers: Record<Kind, unknown> = {
  Bridge: bridgeProvider,
  Port: portProvider,
  Meter: meterProvider,
  FlowSet: flowSetProvider,
  VfBinding: vfBindingProvider,
  Netns: netnsProvider,
  NetnsLink: netnsLinkProvider,
  Veth: vethProvider,
};
