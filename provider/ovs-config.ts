// OvsConfig: Open vSwitch-wide settings, the Open_vSwitch table's
// other_config (hw-offload, tc-policy, max-idle, dpdk-init, …; not
// Bridge.other_config, which Bridge sets). Several stacks may share a host's
// one Open_vSwitch row, so each key is owned: external_ids
// ovs-offload-lab.other_config.<key>=<owner>, with the value the key had
// before in …<key>.was (no .was: it was unset). Delete, and an update that
// drops a key, put that value back. Every step is one ovs-vsctl transaction.
import { z } from "zod";
import { exec, hostLabel } from "./host.ts";
import { asMap, parseFinds, vsctl, type Clause } from "./ovs/vsctl.ts";
import { dynamicProvider } from "./resource.ts";
import { hostSpec, identity, mapKey } from "./schema.ts";

/**
 * Keys whose change ovs-vswitchd applies only when it starts
 * (ovs-vswitchd.conf.db(5)); hw-offload takes effect at once when turned on.
 */
export const RESTART_KEYS = ["hw-offload", "tc-policy", "dpdk-init", "dpdk-lcore-mask", "dpdk-socket-mem", "dpdk-socket-limit", "dpdk-hugepage-dir", "dpdk-extra", "vhost-sock-dir"];

/** Values are written quoted, so a comma (dpdk-socket-mem=1024,1024) is one value. */
const configValue = z
  .string()
  .min(1, "values must not be empty (leave the key out instead)")
  .max(1024)
  .regex(/^[\x20-\x7e]*$/, "values must be printable ASCII without control characters")
  .refine((v) => !/["\\]/.test(v), 'values must not contain " or \\');

export const ovsConfigSchema = z
  .object({
    host: hostSpec.describe("The Open vSwitch (its host). Replaces."),
    otherConfig: z
      .record(mapKey, configValue)
      .refine((m) => Object.keys(m).length > 0, "must set at least one key")
      .describe(
        "Keys of Open_vSwitch other_config this resource owns, e.g. {\"hw-offload\": \"true\", \"tc-policy\": \"skip_sw\", \"max-idle\": \"30000\"}. In place; a key given up gets back the value it had before.",
      ),
    ...identity,
  })
  .strict();

export type OvsConfigInputs = z.output<typeof ovsConfigSchema>;

export interface OvsConfigOutputs extends OvsConfigInputs {
  /** Keys changed by the last create or update that ovs-vswitchd applies only after a restart (RESTART_KEYS). */
  restartNeeded: string[];
}

const ownerKey = (key: string) => `ovs-offload-lab.other_config.${key}`;
const wasKey = (key: string) => `${ownerKey(key)}.was`;
const quoted = (value: string) => `"${value}"`;

interface Row {
  otherConfig: Record<string, string>;
  externalIds: Record<string, string>;
}

async function readRow(c: OvsConfigInputs): Promise<Row> {
  const [rows] = parseFinds((await exec(c.host, vsctl([["--columns=other_config,external_ids", "list", "Open_vSwitch", "."]], { json: true }))).stdout);
  return { otherConfig: asMap(rows[0]?.other_config), externalIds: asMap(rows[0]?.external_ids) };
}

/** The keys of `keys` marked as `owner`'s in `row`. */
const ownedBy = (row: Row, owner: string, keys: string[]) => keys.filter((k) => row.externalIds[ownerKey(k)] === owner);

/** Refuses keys another owner holds. */
function refuseForeign(c: OvsConfigInputs, row: Row, keys: string[]): void {
  for (const k of keys) {
    const owner = row.externalIds[ownerKey(k)];
    if (owner !== undefined && owner !== c.owner) {
      throw new Error(
        `other_config:${k} of Open vSwitch on ${hostLabel(c.host)} is owned by ${owner}; leave the key to that stack, or, if that stack is gone, remove its mark there (ovs-vsctl remove Open_vSwitch . external_ids ${ownerKey(k)}) and run again`,
      );
    }
  }
}

/** Settings that take `keys` (not yet ours) over: our mark and the value each had. */
function takeOver(c: OvsConfigInputs, row: Row, keys: string[]): string[] {
  return keys.flatMap((k) => {
    if (row.externalIds[ownerKey(k)] === c.owner) return []; // a create cut short: its .was stands
    const was = row.otherConfig[k];
    return [`external_ids:${ownerKey(k)}=${quoted(c.owner)}`, ...(was === undefined ? [] : [`external_ids:${wasKey(k)}=${quoted(was)}`])];
  });
}

/** Clauses that give `keys` back: the value each had before (or none), and our marks removed. */
function giveBack(row: Row, keys: string[]): Clause[] {
  if (keys.length === 0) return [];
  const restored = keys.filter((k) => wasKey(k) in row.externalIds);
  const unset = keys.filter((k) => !(wasKey(k) in row.externalIds));
  return [
    ...(unset.length ? [["remove", "Open_vSwitch", ".", "other_config", ...unset]] : []),
    ...(restored.length ? [["set", "Open_vSwitch", ".", ...restored.map((k) => `other_config:${k}=${quoted(row.externalIds[wasKey(k)])}`)]] : []),
    ["remove", "Open_vSwitch", ".", "external_ids", ...keys.flatMap((k) => [ownerKey(k), wasKey(k)])],
  ];
}

/** Keys whose value changes from `before` to `after` and wait for a restart to take effect. */
function restartNeeded(before: Record<string, string>, after: Record<string, string>): string[] {
  return RESTART_KEYS.filter((k) => before[k] !== after[k] && !(k === "hw-offload" && after[k] === "true"));
}

/** Makes the row hold `news.otherConfig` for our keys, giving back `dropped`: one transaction. */
async function apply(news: OvsConfigInputs, row: Row, dropped: string[]): Promise<OvsConfigOutputs> {
  const keys = Object.keys(news.otherConfig);
  refuseForeign(news, row, keys);
  const set = [...takeOver(news, row, keys), ...keys.map((k) => `other_config:${k}=${quoted(news.otherConfig[k])}`)];
  await exec(news.host, vsctl([...giveBack(row, dropped), ["set", "Open_vSwitch", ".", ...set]]));
  const after = { ...row.otherConfig, ...news.otherConfig };
  for (const k of dropped) delete after[k];
  return { ...news, restartNeeded: restartNeeded(row.otherConfig, after) };
}

export const ovsConfigProvider = dynamicProvider<OvsConfigInputs, OvsConfigOutputs>({
  schema: ovsConfigSchema,
  replaceOn: ["host"],
  deleteBeforeReplace: true,
  idOf: (c) => `other_config/${c.owner}`,
  create: async (c) => apply(c, await readRow(c), []),
  async read(_id, props) {
    const row = await readRow(props);
    const ours = ownedBy(row, props.owner, Object.keys(props.otherConfig));
    // Nothing of ours left (OVS's database made anew): gone.
    if (ours.length === 0) return undefined;
    return { ...props, otherConfig: Object.fromEntries(ours.filter((k) => k in row.otherConfig).map((k) => [k, row.otherConfig[k]])) };
  },
  async update(_id, olds, news) {
    const row = await readRow(news);
    return apply(news, row, ownedBy(row, news.owner, Object.keys(olds.otherConfig).filter((k) => !(k in news.otherConfig))));
  },
  async delete(_id, props) {
    const row = await readRow(props);
    const clauses = giveBack(row, ownedBy(row, props.owner, Object.keys(props.otherConfig)));
    if (clauses.length) await exec(props.host, vsctl(clauses));
  },
});
