// Input validation shared by the resources: zod schemas are the single source
// of the input types and of the messages a bad input gets in `check`.
import { z } from "zod";

/** What Pulumi's dynamic provider passes for a value not known yet (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const IFNAME_MAX_BYTES = 15;

/**
 * Words `ip` reads as its own where a link name may stand (`ip link add help
 * …` prints usage and an `ip -batch` stops there); "all" the kernel refuses.
 */
const IP_KEYWORDS = new Set(["all", "any", "default", "dev", "down", "group", "help", "link", "master", "mtu", "name", "netns", "nomaster", "peer", "type", "up"]);

/** A Linux interface (or OVS bridge/port) name: <= 15 bytes, no shell or path characters, no ip keyword. */
export const ifName = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, "must be letters, digits, '_', '.' or '-', not starting with '-' or '.'")
  .refine((s) => Buffer.byteLength(s) <= IFNAME_MAX_BYTES, `must be at most ${IFNAME_MAX_BYTES} bytes (the kernel's IFNAMSIZ)`)
  .refine((s) => !IP_KEYWORDS.has(s), "must not be an ip(8) keyword (all, dev, help, name, type, up, …): ip would read it as one");

/** A network namespace name (a file name under /run/netns). */
export const netnsName = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, "must be 1-64 letters, digits, '_', '.' or '-', not starting with '-' or '.'");

/** An absolute path without '..' or odd characters. */
export const absolutePath = z
  .string()
  .regex(/^(\/[A-Za-z0-9_.:+-]+)+\/?$|^\/$/, "must be an absolute path of letters, digits and _.:+-")
  .refine((s) => !s.split("/").includes(".."), "must not contain '..'");

export const hostSpec = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("local") }).strict(),
  z.object({ kind: z.literal("netns"), netns: netnsName, ovsRundir: absolutePath.optional() }).strict(),
  z
    .object({
      kind: z.literal("ssh"),
      address: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$/, "must be a host name or an IP address"),
      port: z.number().int().min(1).max(65535).optional(),
      user: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a user name: lowercase letters, digits, '_' or '-'"),
      become: z.literal("sudo", 'must be "sudo" (each command run as root through sudo -n), or left out').optional(),
      identityFile: absolutePath.optional(),
      hostKey: z
        .string()
        .regex(/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}$/, 'must be a public host key: "<type> <base64>", e.g. from ssh-keyscan')
        .optional(),
      netns: netnsName.optional(),
      ovsRundir: absolutePath.optional(),
    })
    .strict(),
]);

/**
 * OVS map column keys and values (external_ids, other_config, options), as
 * `ovs-vsctl set T R column:key=value` takes them: a ':' in a key would end
 * it early, and an empty value is not a setting.
 */
export const mapKey = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "keys must be letters, digits and _.- (at most 128), not starting with '.' or '-'");
const mapValue = z
  .string()
  .min(1, "values must not be empty (leave the key out instead)")
  .max(1024)
  .regex(/^[\x20-\x7e]*$/, "values must be printable ASCII without control characters")
  .refine((v) => !/[{}",=]/.test(v), 'values must not contain { } " , or =');
export const stringMap = z.record(mapKey, mapValue);

/** The prefix of the external_ids keys that mark what this provider owns. */
export const MARK_PREFIX = "ovs-offload-lab.";

/** external_ids a user sets: never one of the provider's own ownership marks. */
export const externalIds = z.record(
  mapKey.refine((k) => !k.startsWith(MARK_PREFIX), `must not start with ${MARK_PREFIX}: those keys mark what ovs-offload-lab owns`),
  mapValue,
);

/**
 * Where sysfs is: /sys, or a lab host's emulated tree (lab/layout.ts). Root
 * writes driver files under it, so no other path is accepted.
 */
export const sysfsRoot = z
  .string()
  .regex(/^\/sys$|^\/run\/ovs-offload-lab\/[a-z][a-z0-9]{0,7}\/[a-z0-9]{1,16}\/sys$/, "must be /sys, or a lab host's emulated tree /run/ovs-offload-lab/<lab>/<host>/sys");

export const ipAddress = z.union([z.ipv4(), z.ipv6()], { message: "must be an IPv4 or IPv6 address" });
export const cidr = z.union([z.cidrv4(), z.cidrv6()], { message: "must be an address with a prefix length, e.g. 198.51.100.1/24" });
/** A PCI address as sysfs spells it. */
export const pciAddress = z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/, "must be a PCI address like 0000:04:08.0 (lowercase hex)");
export const mac = z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, "must be a MAC address like 02:00:00:00:00:01 (lowercase hex)");

/** One piece of an owner: a project, stack or resource name. */
const OWNER_SEGMENT = "[A-Za-z0-9_.-]+";
const OWNER_BASE = `${OWNER_SEGMENT}/${OWNER_SEGMENT}/[A-Z][A-Za-z]*/${OWNER_SEGMENT}`;
/** A stack instance's id (provider/instance.ts). */
export const INSTANCE_PATTERN = /^[0-9a-f]{16}$/;
/** An owner: `<project>/<stack>/<Kind>/<name>/<stack instance>`; owners made before 0.2.0 have no instance. */
export const OWNER_PATTERN = new RegExp(`^${OWNER_BASE}(/[0-9a-f]{16})?$`);

/** The inputs every resource has besides its own (see resource.ts). */
export const identity = {
  owner: z
    .string()
    .max(512)
    .regex(OWNER_PATTERN, "must be <project>/<stack>/<Kind>/<name>[/<16 hex digits>], the project, stack and resource names made of letters, digits and _.-"),
  providerVersion: z.string().regex(/^\d{1,4}\.\d{1,4}\.\d{1,4}(-[0-9A-Za-z.-]{1,32})?$/, "must be a version like 0.2.0"),
};

/** For the kinds that refuse an object already there: take over one that no stack owns instead. */
export const adopt = z
  .boolean()
  .default(false)
  .describe(
    "Take over an object of the same name that is already there and that no stack owns (made by hand or by another tool) instead of refusing it: create marks it as this resource's, so destroy removes it. Another stack's object is never taken. Default false. In place (it acts only in create).",
  );

/** A failure as Pulumi's check reports it. */
export interface CheckFailure {
  property: string;
  reason: string;
}

function isUnknownAt(value: unknown, path: readonly PropertyKey[]): boolean {
  let v: unknown = value;
  for (const key of path) {
    if (v === UNKNOWN) return true;
    if (v === null || typeof v !== "object") return false;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v === UNKNOWN;
}

/**
 * Validates `news` with `schema`. Issues about values that are not known yet
 * (preview) are left for the check that runs once they are known.
 */
export function checkInputs<T>(schema: z.ZodType<T>, news: unknown): { inputs: T | undefined; failures: CheckFailure[] } {
  const parsed = schema.safeParse(news);
  if (parsed.success) return { inputs: parsed.data, failures: [] };
  const failures = parsed.error.issues
    .filter((issue) => !isUnknownAt(news, issue.path))
    .flatMap((issue) =>
      // An unknown key is named itself, e.g. a misspelt input.
      issue.code === "unrecognized_keys"
        ? issue.keys.map((key) => ({ property: [...issue.path, key].map(String).join("."), reason: "is not an input of this resource" }))
        : [{ property: issue.path.map(String).join(".") || "(inputs)", reason: issue.message }],
    );
  return { inputs: undefined, failures };
}
