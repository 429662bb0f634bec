// How the resources are Pulumi dynamic resources. The part of every dynamic
// provider that Pulumi keeps in the state (the `__provider` input) and
// evaluates in its dynamic-provider process is a loader: state keeps it frozen, and refresh/destroy run that frozen copy
// (pulumi/pulumi#6490). So it holds nothing but a package name and a kind:
// on every call it loads the implementation installed now
// (node_modules/@ovs-offload-lab/provider links to provider/), and code
// changes reach stacks made by older versions.
import * as pulumi from "@pulumi/pulumi";

export type Kind = "StackInstance" | "OvsConfig" | "Bridge" | "Port" | "Meter" | "FlowSet" | "SriovPf" | "VfBinding" | "Netns" | "NetnsLink" | "Veth";

/** Resource types read `pulumi-nodejs:dynamic/ovs-offload-lab:<Kind>`. */
export const TYPE_MODULE = "ovs-offload-lab";

const METHODS = ["check", "diff", "create", "read", "update", "delete"] as const;

/**
 * The `__provider` of a resource of `kind`: the source of a CommonJS module
 * whose `handler()` gives the provider, which is what Pulumi's
 * dynamic-provider host evaluates (with its own `require`, resolving from the
 * project directory where that process runs). Written here rather than by
 * Pulumi's closure serialiser: the text is the same in every program and
 * version, and a program skips the serialiser's start-up (TypeScript's parser
 * and a V8 inspector session: about 0.35 s of every preview and up).
 */
export function providerModule(kind: Kind): string {
  const impl = `require("@ovs-offload-lab/provider/runtime").providers[${JSON.stringify(kind)}]`;
  return `exports.handler = () => ({\n${METHODS.map((m) => `  ${m}: (...args) => ${impl}.${m}(...args),\n`).join("")}});\n`;
}

/**
 * A Pulumi dynamic resource (type `pulumi-nodejs:dynamic/ovs-offload-lab:<type>`,
 * served by Pulumi's dynamic-provider host) whose `__provider` is the kind's
 * loader: what pulumi.dynamic.Resource makes, without its closure serialiser.
 */
export class DynamicResource extends pulumi.CustomResource {
  constructor(kind: Kind, type: string, name: string, props: object, opts?: pulumi.CustomResourceOptions) {
    super(`pulumi-nodejs:dynamic/${TYPE_MODULE}:${type}`, name, { ...props, __provider: providerModule(kind) }, opts);
  }
}
