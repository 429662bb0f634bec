// A stack's configuration (stacks/Pulumi.<stack>.yaml): the scenario, the
// variant, and where to build it — the built-in lab by default, or real hosts.
// The zod schema is the single source of the accepted keys and their messages.
import { z } from "zod";
import { DEFAULT_LAB_NAME, LAB_NAME_PATTERN, labLayout, type Lab } from "../lab/layout.ts";
import type { HostSpec } from "../provider/host.ts";
import { hostSpec, ifName, pciAddress, sysfsRoot } from "../provider/schema.ts";

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
  })
  .strict();
export type StackConfig = z.infer<typeof stackConfig>;

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
  const parsed = stackConfig.safeParse(raw);
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
