// A stack's configuration (stacks/Pulumi.<stack>.yaml): the scenario, the
// variant, and where to build it — the built-in lab by default, or real hosts.
// The zod schema is the single source of the accepted keys and their messages.
import { z } from "zod";
import { DEFAULT_LAB_NAME, LAB_NAME_PATTERN, labLayout, type Lab } from "../lab/layout.ts";
import type { HostSpec } from "../provider/host.ts";
import { absolutePath, hostSpec, ifName, pciAddress, sysfsRoot } from "../provider/schema.ts";
import { vfBindingSchema } from "../provider/vf-binding.ts";

export const SCENARIOS = ["internal-vs-netvf", "meter", "gateway-forward", "gateway-firewall", "virtio-relay"] as const;
export const VARIANTS = ["classic", "offload"] as const;
export type Scenario = (typeof SCENARIOS)[number];
export type Variant = (typeof VARIANTS)[number];
export const ROLES = ["host1", "host2", "gateway"] as const;
export type Role = (typeof ROLES)[number];

/**
 * A VF the offload variants use: its PCI address, and its representor when
 * it is to be named rather than found in sysfs (phys_switch_id and
 * phys_port_name pf<P>vf<N>). A bare address is the first alone.
 */
const vfEntry = z.preprocess(
  (v) => (typeof v === "string" ? { pciAddress: v } : v),
  z.object({ pciAddress, representor: ifName.optional() }).strict(),
);

/** A real host, reached over SSH (or this machine). */
const realHost = z
  .object({
    host: hostSpec,
    /** The tunnel endpoint address OVS uses on this host's underlay. */
    underlayIp: z.ipv4({ message: "must be an IPv4 address" }),
    datapathType: z.enum(["system", "netdev"]).default("system"),
    sysfsRoot: sysfsRoot.default("/sys"),
    /** The SmartNIC's VFs the offload variants use, by VF index: "0000:04:08.0", or { pciAddress, representor }. */
    vfs: z.record(z.string().regex(/^\d{1,2}$/, "VF indexes are numbers"), vfEntry).default({}),
  })
  .strict();

/**
 * Scenario 5 on real hosts: what each side of it needs that the user brings
 * (the stack starts no VM and no relay there), and what each is for. The
 * refusal of an incomplete config lists these.
 */
export const GUEST_SIDE_NEEDS = {
  tap: "the guest's tap on this host (e.g. libvirt's vnet1: there, up, on no bridge): the stack puts it on br0 as ofport 31 (classic)",
  relayVf:
    "the index, among this host's vfs, of the VF your vhost-user relay (virtio-forwarder, Netronome's virtio-relay) forwards to: " +
    "the stack binds it to relayDriver and puts its representor on br0 as ofport 41 with external_ids:virtio_relay=1 (offload)",
  "guest.address": "the guest's IPv4 address on the NIC the stack connects: the other guest pings it and sends iperf3 to it",
  "guest.ssh":
    "how verify and measure reach the guest to run ping and iperf3 inside it: { kind: ssh, address (the guest's management address, " +
    "reachable from where you run them), user, port, identityFile, hostKey, become }",
} as const;
/** A field's message: what it is for when it is missing, else `invalid`. */
const neededOr = (need: string, invalid?: string) => ({ error: (i: { input: unknown }) => (i.input === undefined ? `missing: ${need}` : invalid) });

/** The guest's SSH: the provider's host spec, of kind ssh. */
const guestSsh = z
  .unknown()
  .refine((v) => v !== undefined, { message: `missing: ${GUEST_SIDE_NEEDS["guest.ssh"]}`, abort: true })
  .pipe(hostSpec)
  .refine((h) => h.kind === "ssh", 'must be of kind ssh ({ kind: ssh, address, user, … }): a guest is reached over SSH');

/** One host's side of scenario 5 on real hosts: the guest the user brings, and its NIC's way to br0. */
const guestSide = z
  .object({
    tap: ifName.optional(),
    relayVf: z.number().int().min(0).max(99, "must be a VF index from 0 to 99, a key of this host's vfs").optional(),
    /** The driver the relay's VF is bound to: the seed's virtio-relay takes nfp_uio; virtio-forwarder vfio-pci or igb_uio. */
    relayDriver: vfBindingSchema.shape.driver.default("nfp_uio"),
    guest: z
      .object(
        { address: z.ipv4(neededOr(GUEST_SIDE_NEEDS["guest.address"], "must be an IPv4 address")), ssh: guestSsh },
        neededOr(`the guest you bring: address, ${GUEST_SIDE_NEEDS["guest.address"]}; ssh, ${GUEST_SIDE_NEEDS["guest.ssh"]}`),
      )
      .strict(),
    /** Where this host's QEMU and relay write their pids, for measure's per-process CPU (libvirt: /run/libvirt/qemu/<domain>.pid). */
    vmPidfile: absolutePath.optional(),
    relayPidfile: absolutePath.optional(),
  })
  .strict();
export type GuestSide = z.infer<typeof guestSide>;

export const stackConfig = z
  .object({
    scenario: z.enum(SCENARIOS),
    variant: z.enum(VARIANTS),
    /** The lab to build on when no hosts are given. */
    lab: z.string().regex(LAB_NAME_PATTERN, "must be 1 to 8 characters, a lowercase letter then lowercase letters or digits").default(DEFAULT_LAB_NAME),
    /** Real hosts by role; when absent, the lab's. */
    hosts: z.object({ host1: realHost, host2: realHost, gateway: realHost.optional() }).strict().optional(),
    /** MTU of the application links: the GRE overlay must leave room for its header on a 1500-byte underlay. */
    innerMtu: z.number().int().min(576).max(8950).default(1450),
    /** Scenario 5 on real hosts: the guests (and relays) the user brings, by host. */
    virtioRelay: z.object({ host1: guestSide.optional(), host2: guestSide.optional() }).strict().optional(),
  })
  .strict();
export type StackConfig = z.infer<typeof stackConfig>;

/** The config with the rules across its keys: a schema of its own, since zod cannot pick keys of one with refinements (runner/stacks.ts picks two). */
const checkedStackConfig = stackConfig.superRefine((config, ctx) => {
  for (const issue of virtioRelayIssues(config)) ctx.addIssue({ code: "custom", ...issue });
});

type ConfigIssue = { path: (string | number)[]; message: string };

/**
 * What keeps a config's scenario 5 on real hosts from being built: each
 * missing key with what it is for, a relay VF the host's vfs lack, or the
 * block where it does not belong.
 */
export function virtioRelayIssues(config: StackConfig): ConfigIssue[] {
  const { virtioRelay: sides, hosts } = config;
  if (config.scenario !== "virtio-relay" || !hosts) {
    if (!sides) return [];
    if (config.scenario !== "virtio-relay") return [{ path: ["virtioRelay"], message: `only the virtio-relay scenario uses it (this stack's is ${config.scenario}): remove it` }];
    return [{ path: ["virtioRelay"], message: "is for real hosts (hosts): on the lab the stack starts its own guests and relay (vm/): remove it, or add hosts" }];
  }
  const issues: ConfigIssue[] = [];
  if (!sides) {
    issues.push({
      path: ["virtioRelay"],
      message:
        "missing: on real hosts the stack starts no VM and no relay: it does the OVS/VF side for the guests you bring on host1 and host2" +
        `${config.variant === "offload" ? " and their relays" : ""}, named here (docs/stacks.md, Scenario 5 on real hosts)`,
    });
  }
  const needs = [config.variant === "classic" ? "tap" : "relayVf", "guest.address", "guest.ssh"] as const;
  for (const role of ["host1", "host2"] as const) {
    const side = sides?.[role];
    for (const need of needs) {
      const given = need === "tap" || need === "relayVf" ? side?.[need] : side?.guest;
      if (given === undefined) issues.push({ path: ["virtioRelay", role, ...need.split(".")], message: `missing: ${GUEST_SIDE_NEEDS[need]}` });
    }
    const vf = side?.relayVf;
    // zod runs this after issues that do not abort (a bad value elsewhere), so what it reads may be partial.
    if (config.variant === "offload" && vf !== undefined && hosts[role] && !hosts[role].vfs[String(vf)]) {
      issues.push({ path: ["virtioRelay", role, "relayVf"], message: `VF ${vf} is not among hosts.${role}.vfs: add its PCI address there (hosts.${role}.vfs."${vf}")` });
    }
  }
  return issues;
}

/** One machine of a scenario, however it is reached. */
export interface SiteHost {
  role: Role;
  spec: HostSpec;
  underlayIp: string;
  datapathType: "system" | "netdev";
  sysfsRoot: string;
  /** PCI address of VF `index`. */
  vfPci(index: number): string;
  /** VF `index`'s representor when the config names it; undefined: its VfBinding finds it in sysfs. */
  representor(index: number): string | undefined;
}

/** Where a stack is built, and the prefix that keeps its namespace names apart from others'. */
export interface Site {
  hosts: Partial<Record<Role, SiteHost>>;
  netnsPrefix: string;
  /** The lab, when the site is one. */
  lab?: Lab;
}

/** The lab stacks' passphrase: public (README), so for the lab alone. */
export const LAB_PASSPHRASE = "ovs-offload-lab";

/**
 * Why a stack may not run with this passphrase, if it may not: one that
 * builds on real hosts must not keep its secrets under the public lab
 * passphrase. `secretsProvider` is the stack file's `secretsprovider`
 * (undefined: the passphrase provider).
 */
export function passphraseProblem(config: StackConfig, stack: string, secretsProvider: string | undefined, passphrase: string | undefined): string | undefined {
  if (!config.hosts || (secretsProvider ?? "passphrase") !== "passphrase" || passphrase !== LAB_PASSPHRASE) return undefined;
  return (
    `stack ${stack} builds on real hosts, but its secrets are under the public lab passphrase (${LAB_PASSPHRASE}). ` +
    `Give it your own: \`PULUMI_CONFIG_PASSPHRASE=${LAB_PASSPHRASE} pulumi stack change-secrets-provider --stack ${stack} passphrase\` ` +
    `asks for the new one, then set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE to it (see docs/stacks.md)`
  );
}

/** The keys an object of the schema takes at `path`, or none where it takes any (a record). */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let at: unknown = schema;
  for (const key of [...path, undefined]) {
    while (at instanceof z.ZodOptional || at instanceof z.ZodDefault) at = at.unwrap();
    if (!(at instanceof z.ZodObject)) return [];
    if (key === undefined) return Object.keys(at.shape);
    at = (at.shape as Record<PropertyKey, unknown>)[key];
  }
  return [];
}

/** Edit distance: insertions, deletions and substitutions. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}

/** The known key nearest to `key`, when one is near enough to be a slip. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const [best] = [...known].sort((a, b) => distance(key.toLowerCase(), a.toLowerCase()) - distance(key.toLowerCase(), b.toLowerCase()));
  return best !== undefined && distance(key.toLowerCase(), best.toLowerCase()) <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** Parses the stack's config (raw values by key); throws one line per problem, an unknown key with the nearest known one. */
export function parseStackConfig(raw: Record<string, unknown>, namespace: string): StackConfig {
  const parsed = checkedStackConfig.safeParse(raw);
  if (parsed.success) return parsed.data;
  const at = (path: readonly PropertyKey[]) => `${namespace}:${path.map(String).join(".") || "(config)"}`;
  const lines = parsed.error.issues.flatMap((i) =>
    i.code === "unrecognized_keys"
      ? i.keys.map((key) => {
          const near = nearestKey(key, keysAt(stackConfig, i.path));
          return `  ${at([...i.path, key])}: not a key of this project${near ? ` (did you mean ${at([...i.path, near])}?)` : ""}`;
        })
      : [`  ${at(i.path)}: ${i.message}`],
  );
  throw new Error(`the stack's configuration is not valid:\n${lines.join("\n")}\n(see docs/stacks.md)`);
}

export function siteOf(config: StackConfig): Site {
  if (!config.hosts) {
    const lab = labLayout(config.lab);
    const hosts: Site["hosts"] = {};
    for (const [i, role] of ROLES.entries()) {
      const h = lab.hosts[i];
      hosts[role] = { role, spec: h.spec, underlayIp: h.underlayIp, datapathType: "netdev", sysfsRoot: h.sysfs, vfPci: (n) => h.vfs[n].pci, representor: () => undefined };
    }
    return { hosts, netnsPrefix: `${lab.name}-`, lab };
  }
  const hosts: Site["hosts"] = {};
  for (const role of ROLES) {
    const h = config.hosts[role];
    if (!h) continue;
    hosts[role] = {
      role, spec: h.host, underlayIp: h.underlayIp, datapathType: h.datapathType, sysfsRoot: h.sysfsRoot,
      vfPci: (n) => {
        const vf = h.vfs[String(n)];
        if (!vf) throw new Error(`the offload variant needs VF ${n} on ${role}: set ${role}.vfs."${n}" to its PCI address in the stack's config`);
        return vf.pciAddress;
      },
      representor: (n) => h.vfs[String(n)]?.representor,
    };
  }
  return { hosts, netnsPrefix: "" };
}
