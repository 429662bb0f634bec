// The resources, for Pulumi programs.
export { Bridge, type BridgeArgs } from "./bridge.ts";
export { Flow, FlowSet, type FlowArgs, type FlowSetArgs } from "./flow.ts";
export { StackInstance } from "./instance.ts";
export type { HostSpec } from "./host.ts";
export { Meter, type MeterArgs } from "./meter.ts";
export { Netns, type NetnsArgs } from "./netns.ts";
export { NetnsLink, type NetnsLinkArgs } from "./netns-link.ts";
export { Port, type PortArgs } from "./port.ts";
export { Veth, type VethArgs } from "./veth.ts";
export { VfBinding, type VfBindingArgs } from "./vf-binding.ts";
