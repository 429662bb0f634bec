// The part of every dynamic provider that Pulumi serialises into the state.
// Pulumi captures local modules by value and freezes them into the state,
// and refresh/destroy run that frozen copy (pulumi/pulumi#6490). So this
// part holds nothing but a package name and a kind: on every call it loads
// the implementation installed now (node_modules/@ovs-offload-lab/provider
// links to provider/), and code changes reach stacks made by older versions.
import type * as pulumi from "@pulumi/pulumi";

export type Kind = "StackInstance" | "OvsConfig" | "Bridge" | "Port" | "Meter" | "FlowSet" | "VfBinding" | "Netns" | "NetnsLink" | "Veth";

export function lazyProvider(kind: Kind): pulumi.dynamic.ResourceProvider {
  const runtime = "@ovs-offload-lab/provider/runtime";
  // `require` is the provider process's own (Pulumi never captures it); it
  // resolves from the project directory, where that process runs.
  const impl = (): Required<pulumi.dynamic.ResourceProvider> => require(runtime).providers[kind];
  return {
    check: (olds, news) => impl().check(olds, news),
    diff: (id, olds, news) => impl().diff(id, olds, news),
    create: (inputs) => impl().create(inputs),
    read: (id, props) => impl().read(id, props),
    update: (id, olds, news) => impl().update(id, olds, news),
    delete: (id, props) => impl().delete(id, props),
  };
}
