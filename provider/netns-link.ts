// NetnsLink: a link (veth end, OVS internal port, VF netdev) moved into a
// network namespace and configured there: MAC, MTU, addresses, routes, static
// neighbours, up. On delete it goes back to the host's own namespace.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { hostLabel, type HostSpec } from "./host.ts";
import { hostNetns, ipBatch, ipExec, ipJson, linkIn, netnsNames } from "./ip.ts";
import { lazyProvider } from "./loader.ts";
import { dynamicProvider, ownerOf, PROVIDER_VERSION, TYPE_MODULE, type Identity } from "./resource.ts";
import { cidr, hostSpec, identity, ifName, ipAddress, mac, netnsName } from "./schema.ts";

export interface Route {
  /** Destination prefix, e.g. "203.0.113.0/24", or "default". */
  to: string;
  /** Next hop; omit for a route straight out of the link. */
  via?: string;
}

export interface Neighbour {
  ip: string;
  mac: string;
}

export interface NetnsLinkArgs {
  /** The machine. Replaces. */
  host: pulumi.Input<HostSpec>;
  /** The link's name in the host's own namespace, e.g. "internal1" or "netvf1". Replaces. */
  link: pulumi.Input<string>;
  /** The namespace to move it into (a Netns's name). Replaces. */
  netns: pulumi.Input<string>;
  /** MAC address. Default: leave as is. In place. */
  mac?: pulumi.Input<string>;
  /** MTU, e.g. 1450 behind a GRE tunnel. Default: leave as is. In place. */
  mtu?: pulumi.Input<number>;
  /** Addresses with prefix, e.g. ["198.51.100.1/24"]. In place. */
  addresses?: pulumi.Input<pulumi.Input<string>[]>;
  /** Routes through the link. In place. */
  routes?: pulumi.Input<pulumi.Input<Route>[]>;
  /** Static (permanent) neighbour entries, e.g. the gateway's fake MAC fa:ff:ff:ff:ff:ff. In place. */
  neighbours?: pulumi.Input<pulumi.Input<Neighbour>[]>;
  /** Whether the link is up. Default true. In place. */
  up?: pulumi.Input<boolean>;
}

export interface NetnsLinkInputs extends Identity {
  host: HostSpec;
  link: string;
  netns: string;
  mac?: string;
  mtu?: number;
  addresses: string[];
  routes: Route[];
  neighbours: Neighbour[];
  up: boolean;
}

export const netnsLinkSchema = z
  .object({
    host: hostSpec,
    link: ifName,
    netns: netnsName,
    mac: mac.optional(),
    mtu: z.number().int().min(68).max(65535).optional(),
    addresses: z.array(cidr).default([]),
    routes: z.array(z.object({ to: z.union([cidr, z.literal("default")]), via: ipAddress.optional() }).strict()).default([]),
    neighbours: z.array(z.object({ ip: ipAddress, mac }).strict()).default([]),
    up: z.boolean().default(true),
    ...identity,
  })
  .strict();

const routeLine = (verb: string, link: string, r: Route) => `route ${verb} ${r.to}${r.via ? ` via ${r.via}` : ""} dev ${link}`;
const sameRoute = (a: Route, b: Route) => a.to === b.to && a.via === b.via;

/** `ip -batch` lines that take the link from `olds` (what it has) to `news`. Pure. */
export function configureLines(olds: Pick<NetnsLinkInputs, "addresses" | "routes" | "neighbours" | "up"> & Partial<NetnsLinkInputs>, news: NetnsLinkInputs): string[] {
  const l = news.link;
  const lines: string[] = [];
  if (news.mac && news.mac !== olds.mac) lines.push(`link set dev ${l} address ${news.mac}`);
  if (news.mtu && news.mtu !== olds.mtu) lines.push(`link set dev ${l} mtu ${news.mtu}`);
  for (const r of olds.routes.filter((r) => !news.routes.some((n) => sameRoute(n, r)))) lines.push(routeLine("del", l, r));
  for (const a of olds.addresses.filter((a) => !news.addresses.includes(a))) lines.push(`addr del ${a} dev ${l}`);
  for (const a of news.addresses.filter((a) => !olds.addresses.includes(a))) lines.push(`addr add ${a} dev ${l}`);
  if (news.up !== olds.up || lines.length) lines.push(`link set dev ${l} ${news.up ? "up" : "down"}`);
  for (const r of news.routes.filter((r) => !olds.routes.some((o) => sameRoute(o, r)))) lines.push(routeLine("replace", l, r));
  for (const n of olds.neighbours.filter((n) => !news.neighbours.some((m) => m.ip === n.ip))) lines.push(`neigh del ${n.ip} dev ${l}`);
  for (const n of news.neighbours.filter((n) => !olds.neighbours.some((m) => m.ip === n.ip && m.mac === n.mac))) lines.push(`neigh replace ${n.ip} lladdr ${n.mac} dev ${l} nud permanent`);
  return lines;
}

/** `ip route` prints host routes without their prefix length. */
function withPrefix(dst: string): string {
  return dst === "default" || dst.includes("/") ? dst : `${dst}/${dst.includes(":") ? 128 : 32}`;
}

interface IpAddr {
  addr_info: { family: string; local: string; prefixlen: number; scope: string }[];
}

/** The link as it is in its namespace, limited to what the resource manages; undefined when not there. */
async function readLink(n: NetnsLinkInputs): Promise<NetnsLinkInputs | undefined> {
  if (!(await netnsNames(n.host)).includes(n.netns)) return undefined;
  const link = await linkIn(n.host, n.netns, n.link);
  if (!link) return undefined;
  const [addr] = await ipJson<IpAddr>(n.host, n.netns, ["addr", "show", "dev", n.link]);
  const routes = (await ipJson<{ dst: string; gateway?: string; protocol?: string }>(n.host, n.netns, ["route", "show", "dev", n.link]))
    .filter((r) => r.protocol !== "kernel")
    .map((r) => ({ to: withPrefix(r.dst), ...(r.gateway ? { via: r.gateway } : {}) }));
  const neighbours = (await ipJson<{ dst: string; lladdr: string }>(n.host, n.netns, ["neigh", "show", "dev", n.link, "nud", "permanent"])).map((e) => ({ ip: e.dst, mac: e.lladdr }));
  return {
    ...n,
    mac: n.mac === undefined ? undefined : link.address,
    mtu: n.mtu === undefined ? undefined : link.mtu,
    addresses: (addr?.addr_info ?? []).filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`),
    routes,
    neighbours,
    up: link.flags.includes("UP"),
  };
}

export const netnsLinkProvider = dynamicProvider<NetnsLinkInputs, NetnsLinkInputs>(
  {
    schema: netnsLinkSchema as unknown as z.ZodType<NetnsLinkInputs>,
    replaceOn: ["host", "link", "netns"],
    deleteBeforeReplace: true,
    idOf: (n) => `${n.netns}/${n.link}`,
    async create(n) {
      // Already moved (a create that stopped half way) counts as moved.
      const there = await readLink(n);
      if (!there) {
        if (!(await linkIn(n.host, undefined, n.link))) {
          throw new Error(`no link ${n.link} on ${hostLabel(n.host)} to move into ${n.netns}: make it first (a Port, a Veth, or a VfBinding to a netdev driver)`);
        }
        await ipExec(n.host, undefined, ["link", "set", "dev", n.link, "netns", n.netns]);
      }
      const now = there ?? { ...n, mac: undefined, mtu: undefined, addresses: [], routes: [], neighbours: [], up: false };
      await ipBatch(n.host, n.netns, configureLines(now, n));
      return n;
    },
    read: (_id, props) => readLink(props),
    async update(_id, olds, news) {
      await ipBatch(news.host, news.netns, configureLines(olds, news));
      return news;
    },
    async delete(_id, props) {
      // The kernel drops the link's addresses and routes on the way out.
      if (await readLink(props)) await ipExec(props.host, props.netns, ["link", "set", "dev", props.link, "netns", hostNetns(props.host)]);
    },
  },
  ["host", "link", "netns", "mac", "mtu", "addresses", "routes", "neighbours", "up", "owner", "providerVersion"],
);

/** A link moved into a namespace and configured there; moved back on delete. */
export class NetnsLink extends pulumi.dynamic.Resource {
  constructor(name: string, args: NetnsLinkArgs, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("NetnsLink"), name, { ...args, owner: ownerOf("NetnsLink", name), providerVersion: PROVIDER_VERSION }, opts, TYPE_MODULE, "NetnsLink");
  }
}
