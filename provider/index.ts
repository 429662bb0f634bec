// The resources, for Pulumi programs.
export type { BridgeArgs, FlowArgs, FlowSetArgs, MeterArgs, NetnsArgs, NetnsLinkArgs, OvsConfigArgs, PortArgs, SriovPfArgs, VethArgs, VfBindingArgs } from "./args.ts";
export type { HostSpec } from "./host.ts";
export { StackInstance } from "./instance.ts";
export { Bridge, Flow, FlowSet, Meter, Netns, NetnsLink, OvsConfig, Port, SriovPf, Veth, VfBinding } from "./resources.ts";
