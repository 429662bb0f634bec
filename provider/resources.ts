// The resources a Pulumi program makes: one class per kind, each a Pulumi
// dynamic resource whose provider is loaded at run time (see loader.ts). Its
// args are provider/args.ts, written from the kind's schema; nothing here
// names zod, so neither do the package's declarations.
import * as pulumi from "@pulumi/pulumi";
import type { BridgeArgs, FlowArgs, FlowSetArgs, MeterArgs, NetnsArgs, NetnsLinkArgs, OvsConfigArgs, PortArgs, SriovPfArgs, VethArgs, VfBindingArgs } from "./args.ts";
import type { HostSpec } from "./host.ts";
import { DynamicResource, type Kind } from "./loader.ts";
import { ownerOf, PROVIDER_VERSION } from "./resource.ts";

/**
 * Every resource: the args with the owner and provider version added, and
 * the outputs that are not inputs declared (undefined) so that the engine
 * fills them. `type` is the resource type when it is not the kind's (a Flow
 * is a FlowSet).
 */
export class OvsResource extends DynamicResource {
  constructor(kind: Kind, name: string, args: object, opts?: pulumi.CustomResourceOptions, more: { type?: string; outputs?: readonly string[] } = {}) {
    const type = more.type ?? kind;
    const outputs = Object.fromEntries((more.outputs ?? []).map((key) => [key, undefined]));
    super(kind, type, name, { ...args, ...outputs, owner: ownerOf(type, name), providerVersion: PROVIDER_VERSION }, opts);
  }
}

/** The FlowSet outputs that are not inputs. */
const FLOW_OUTPUTS = ["cookie", "appliedDigest", "installedDigest", "installedCount"];

/** Open vSwitch-wide settings (the Open_vSwitch table's other_config), given back on delete. */
export class OvsConfig extends OvsResource {
  /** Keys the last change set that ovs-vswitchd applies only after a restart. */
  declare readonly restartNeeded: pulumi.Output<string[]>;

  constructor(name: string, args: OvsConfigArgs, opts?: pulumi.CustomResourceOptions) {
    super("OvsConfig", name, args, opts, { outputs: ["restartNeeded"] });
  }
}

/** An Open vSwitch bridge. */
export class Bridge extends OvsResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly datapathType: pulumi.Output<string>;
  declare readonly host: pulumi.Output<HostSpec>;

  constructor(name: string, args: BridgeArgs, opts?: pulumi.CustomResourceOptions) {
    super("Bridge", name, args, opts);
  }
}

/** An Open vSwitch port with its interface. */
export class Port extends OvsResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly bridge: pulumi.Output<string>;
  /** The OpenFlow port number OVS assigned. */
  declare readonly ofport: pulumi.Output<number>;

  constructor(name: string, args: PortArgs, opts?: pulumi.CustomResourceOptions) {
    super("Port", name, args, opts, { outputs: ["ofport"] });
  }
}

/** An OpenFlow meter. */
export class Meter extends OvsResource {
  /** The meter id, for the `meters` input of the flows that use it. */
  declare readonly meterId: pulumi.Output<number>;

  constructor(name: string, args: MeterArgs, opts?: pulumi.CustomResourceOptions) {
    super("Meter", name, args, opts);
  }
}

/** Flows applied together, atomically, owned by this resource. */
export class FlowSet extends OvsResource {
  declare readonly installedCount: pulumi.Output<number>;
  declare readonly installedDigest: pulumi.Output<string>;
  declare readonly cookie: pulumi.Output<string>;

  constructor(name: string, args: FlowSetArgs, opts?: pulumi.CustomResourceOptions) {
    super("FlowSet", name, args, opts, { outputs: FLOW_OUTPUTS });
  }
}

/** One OpenFlow flow, owned by this resource. */
export class Flow extends OvsResource {
  declare readonly installedCount: pulumi.Output<number>;
  declare readonly cookie: pulumi.Output<string>;

  constructor(name: string, args: FlowArgs, opts?: pulumi.CustomResourceOptions) {
    const { table, priority, match, actions, ...rest } = args;
    const flows = pulumi.all([table, priority, match, actions]).apply(([t, p, m, a]) => [{ table: t, priority: p, match: m, actions: a }]);
    super("FlowSet", name, { ...rest, flows }, opts, { type: "Flow", outputs: FLOW_OUTPUTS });
  }
}

/** A network namespace. Links moved into it (NetnsLink) depend on it and go back first. */
export class Netns extends OvsResource {
  declare readonly name: pulumi.Output<string>;

  constructor(name: string, args: NetnsArgs, opts?: pulumi.CustomResourceOptions) {
    super("Netns", name, args, opts);
  }
}

/** A link moved into a namespace and configured there; moved back on delete. */
export class NetnsLink extends OvsResource {
  constructor(name: string, args: NetnsLinkArgs, opts?: pulumi.CustomResourceOptions) {
    super("NetnsLink", name, args, opts);
  }
}

/** A veth pair; move an end into a namespace with NetnsLink. */
export class Veth extends OvsResource {
  declare readonly name: pulumi.Output<string>;
  declare readonly peerName: pulumi.Output<string>;

  constructor(name: string, args: VethArgs, opts?: pulumi.CustomResourceOptions) {
    super("Veth", name, args, opts);
  }
}

/** A PCI physical function's VF count (sriov_numvfs) and eswitch mode, given back on delete. */
export class SriovPf extends OvsResource {
  /** sriov_totalvfs: the most VFs the PF can have. */
  declare readonly totalVfs: pulumi.Output<number>;
  /** The VFs' PCI addresses by index (virtfn<N>), for VfBindings. */
  declare readonly vfs: pulumi.Output<string[]>;
  declare readonly originalNumVfs: pulumi.Output<number>;
  declare readonly originalEswitchMode: pulumi.Output<string>;

  constructor(name: string, args: SriovPfArgs, opts?: pulumi.CustomResourceOptions) {
    super("SriovPf", name, args, opts, { outputs: ["totalVfs", "vfs", "originalNumVfs", "originalEswitchMode"] });
  }
}

/** A PCI VF bound to a driver, given back to its original driver on delete. */
export class VfBinding extends OvsResource {
  declare readonly originalDriver: pulumi.Output<string>;
  /** The VF's netdev name when the driver makes one (nfp_netvf), else "". */
  declare readonly netdev: pulumi.Output<string>;
  /** The VF's representor (representorName, or found in sysfs: phys_switch_id and phys_port_name pf<P>vf<N>), for its Port. */
  declare readonly representor: pulumi.Output<string>;

  constructor(name: string, args: VfBindingArgs, opts?: pulumi.CustomResourceOptions) {
    super("VfBinding", name, args, opts, { outputs: ["originalDriver", "netdev", "representor"] });
  }
}
