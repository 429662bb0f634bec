// The resources, for Pulumi programs.
export { Bridge, type BridgeArgs } from "./bridge.ts";
export { Flow, FlowSet, type FlowArgs, type FlowSetArgs } from "./flow.ts";
export type { HostSpec } from "./host.ts";
export { Meter, type MeterArgs } from "./meter.ts";
export { Port, type PortArgs } from "./port.ts";
export { VfBinding, type VfBindingArgs } from "./vf-binding.ts";
