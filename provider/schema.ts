// Input validation shared by the resources: zod schemas are the single source
// of the input types and of the messages a bad input gets in `check`.
import { z } from "zod";

/** What Pulumi's dynamic provider passes for a value not known yet (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const IFNAME_MAX_BYTES = 15;

/** A Linux interface (or OVS bridge/port) name: <= 15 bytes, no shell or path characters. */
export const ifName = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, "must be letters, digits, '_', '.' or '-', not starting with '-' or '.'")
  .refine((s) => Buffer.byteLength(s) <= IFNAME_MAX_BYTES, `must be at most ${IFNAME_MAX_BYTES} bytes (the kernel's IFNAMSIZ)`);

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

/** OVS map column keys and values (external_ids, other_config, options). */
const mapKey = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/, "keys must be letters, digits and _.:- (at most 128)");
const mapValue = z
  .string()
  .max(1024)
  .regex(/^[\x20-\x7e]*$/, "values must be printable ASCII without control characters")
  .refine((v) => !/[{}",=]/.test(v), 'values must not contain { } " , or =');
export const stringMap = z.record(mapKey, mapValue);

export const ipAddress = z.union([z.ipv4(), z.ipv6()], { message: "must be an IPv4 or IPv6 address" });
export const cidr = z.union([z.cidrv4(), z.cidrv6()], { message: "must be an address with a prefix length, e.g. 198.51.100.1/24" });
/** A PCI address as sysfs spells it. */
export const pciAddress = z.string().regex(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/, "must be a PCI address like 0000:04:08.0 (lowercase hex)");
export const mac = z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, "must be a MAC address like 02:00:00:00:00:01 (lowercase hex)");

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
    .map((issue) => ({ property: issue.path.map(String).join(".") || "(inputs)", reason: issue.message }));
  return { inputs: undefined, failures };
}
