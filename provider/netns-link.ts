// NetnsLink: a link (veth end, OVS internal port, VF netdev) moved into a
// network namespace and configured there: MAC, MTU, addresses, routes, static
// neighbours, up. On delete it goes back to the host's own namespace.
import { z } from "zod";
import { hostLabel } from "./host.ts";
import { hostNetns, ipBatch, ipExec, ipJson, linkIn, netnsNames } from "./ip.ts";
import { dynamicProvider } from "./resource.ts";
import { cidr, hostSpec, identity, ifName, ipAddress, mac, netnsName } from "./schema.ts";

const route = z
  .object({
    to: z.union([cidr, z.literal("default")]).describe('Destination prefix, e.g. "203.0.113.0/24", or "default".'),
    via: ipAddress.optional().describe("Next hop; omit for a route straight out of the link."),
  })
  .strict();

export const netnsLinkSchema = z
  .object({
    host: hostSpec.describe("The machine. Replaces."),
    link: ifName.describe("The link's name in the host's own namespace, e.g. \"internal1\" or \"netvf1\". Replaces."),
    netns: netnsName.describe("The namespace to move it into (a Netns's name). Replaces."),
    mac: mac.optional().describe("MAC address. Default: leave as is. In place."),
    mtu: z.number().int().min(68).max(65535).optional().describe("MTU, e.g. 1450 behind a GRE tunnel. Default: leave as is. In place."),
    addresses: z.array(cidr).default([]).describe('Addresses with prefix, e.g. ["198.51.100.1/24"]. In place.'),
    routes: z.array(route).default([]).describe("Routes through the link. In place."),
    neighbours: z.array(z.object({ ip: ipAddress, mac }).strict()).default([]).describe("Static (permanent) neighbour entries, e.g. the gateway's fake MAC fa:ff:ff:ff:ff:ff. In place."),
    up: z.boolean().default(true).describe("Whether the link is up. Default true. In place."),
    ...identity,
  })
  .strict();

export type NetnsLinkInputs = z.output<typeof netnsLinkSchema>;
type Route = z.output<typeof route>;

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
    schema: netnsLinkSchema,
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
);
