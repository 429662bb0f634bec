// The pieces every scenario is made of: a host's tunnel bridge (br0 with the
// flow-based GRE port the seed uses), and an application endpoint — an OVS
// internal port (classic) or a SmartNIC VF (offload) moved into its own
// network namespace. In the resource tree (preview, up, the state) each
// host's objects are one node: host → br0 → its ports, meters and flows, and
// host → endpoint → its namespace, VF and link.
import * as pulumi from "@pulumi/pulumi";
import { Bridge, Netns, NetnsLink, Port, VfBinding } from "@ovs-offload-lab/provider";
import { onMachine } from "../provider/host.ts";
import type { Site, SiteHost, Role, Variant } from "./config.ts";
import type { Endpoint } from "./expectations.ts";

export const BRIDGE = "br0";
export const GRE_OFPORT = 1;

/** A node of the resource tree that groups objects: a host, or an endpoint on it. */
class Group extends pulumi.ComponentResource {
  constructor(kind: "Host" | "Endpoint", name: string, opts?: pulumi.ComponentResourceOptions) {
    super(`ovs-offload-lab:stack:${kind}`, name, {}, opts);
  }
}

/**
 * Options that put a resource under `parent` in the tree. The alias names
 * where stacks made before the tree have it (no parent), so that they keep
 * it rather than replace it.
 */
export function under(parent: pulumi.Resource, opts: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
  return { ...opts, parent, aliases: [{ parent: pulumi.rootStackResource }] };
}

export interface TunnelBridge {
  host: SiteHost;
  /** The host's node of the resource tree. */
  group: pulumi.ComponentResource;
  bridge: Bridge;
  gre: Port;
}

/** br0 with `gre` (ofport 1, remote_ip and key from the flows); secure fail mode: only the stack's flows forward. */
export function tunnelBridge(host: SiteHost): TunnelBridge {
  const group = new Group("Host", host.role);
  const bridge = new Bridge(`${host.role}-${BRIDGE}`, { host: host.spec, name: BRIDGE, datapathType: host.datapathType, failMode: "secure" }, under(group));
  const gre = new Port(
    `${host.role}-gre`,
    { host: host.spec, bridge: bridge.name, name: "gre", type: "gre", ofportRequest: GRE_OFPORT, options: { remote_ip: "flow", key: "flow" } },
    under(bridge),
  );
  return { host, group, bridge, gre };
}

export interface EndpointSpec {
  /** The namespace's name (after the site's prefix) and the resources' name prefix, e.g. "ns1". */
  name: string;
  /** Its OpenFlow port on br0. */
  ofport: number;
  /** Classic: the internal port's name. */
  internalPort: string;
  /** Offload: the VF, by index (its representor is found in sysfs, or named in the config). */
  vf: number;
  /** Address with prefix length, e.g. "198.51.100.1/24". */
  address: string;
  mac: string;
  routes?: { to: string; via?: string }[];
  neighbours?: { ip: string; mac: string }[];
}

export interface BuiltEndpoint {
  /** The OVS port the endpoint's traffic enters br0 by. */
  port: Port;
  /** The endpoint, configured in its namespace. */
  link: NetnsLink;
  endpoint: Endpoint;
}

/**
 * VF `index` of `host` bound to `driver`, and the name of its representor
 * for the Port: the config's, known at preview, else the one the binding
 * finds in sysfs.
 */
export function vfWithRepresentor(host: SiteHost, index: number, driver: string, name: string, opts: pulumi.CustomResourceOptions): { binding: VfBinding; representor: pulumi.Input<string> } {
  const named = host.representor(index);
  const binding = new VfBinding(name, { host: host.spec, pciAddress: host.vfPci(index), driver, sysfsRoot: host.sysfsRoot, representorName: named }, opts);
  return { binding, representor: named ?? binding.representor };
}

/**
 * An application endpoint on `tb`'s bridge. Classic: an internal port moved
 * into the namespace. Offload: the VF bound to nfp_netvf, its representor on
 * the bridge, its netdev moved into the namespace.
 */
export function endpoint(site: Site, tb: TunnelBridge, variant: Variant, e: EndpointSpec, innerMtu: number): BuiltEndpoint {
  const { host } = tb;
  const h = host.spec;
  const id = `${host.role}-${e.name}`;
  const group = new Group("Endpoint", id, { parent: tb.group });
  const netns = new Netns(id, { host: h, name: `${site.netnsPrefix}${e.name}` }, under(group));
  let port: Port;
  let link: pulumi.Input<string>;
  let linkDeps: pulumi.Resource[];
  if (variant === "classic") {
    port = new Port(`${id}-port`, { host: h, bridge: tb.bridge.name, name: e.internalPort, type: "internal", ofportRequest: e.ofport }, under(tb.bridge));
    link = port.name;
    linkDeps = [port];
  } else {
    const vf = vfWithRepresentor(host, e.vf, "nfp_netvf", `${id}-vf`, under(group));
    port = new Port(`${id}-port`, { host: h, bridge: tb.bridge.name, name: vf.representor, ofportRequest: e.ofport }, under(tb.bridge));
    link = vf.binding.netdev;
    linkDeps = [vf.binding];
  }
  const placed = new NetnsLink(
    id,
    { host: h, link, netns: netns.name, mac: e.mac, mtu: innerMtu, addresses: [e.address], routes: e.routes ?? [], neighbours: e.neighbours ?? [] },
    under(group, { dependsOn: linkDeps }),
  );
  return { port, link: placed, endpoint: { exec: onMachine(h, `${site.netnsPrefix}${e.name}`), address: e.address.split("/")[0] } };
}

/** The site's host in `role`, or a clear error when the stack's config lacks it. */
export function hostIn(site: Site, role: Role): SiteHost {
  const host = site.hosts[role];
  if (!host) throw new Error(`this scenario needs a ${role}: add hosts.${role} to the stack's config`);
  return host;
}

/** `set_tunnel` + `tun_dst` + out the GRE port: the seed's way into the overlay. */
export function toTunnel(tunId: number, remoteIp: string, out = `output:${GRE_OFPORT}`): string {
  return `set_tunnel:${tunId},set_field:${remoteIp}->tun_dst,${out}`;
}

/** The match of packets from the GRE port sent by `remoteIp` with `tunId`. */
export function fromTunnel(tunId: number, remoteIp: string): string {
  return `in_port=${GRE_OFPORT},tun_src=${remoteIp},tun_id=${tunId}`;
}

/** Host facts a stack exports, by role. */
export function hostSpecs(site: Site, roles: readonly Role[]) {
  return Object.fromEntries(roles.map((r) => [r, hostIn(site, r).spec]));
}
