// Meter: an OpenFlow 1.3 meter (`ovs-ofctl add-meter`). Meters carry no
// cookie, so ownership is kept on the bridge row: external_ids
// ovs-offload-lab.meter.<id>=<owner>.
//
// The meter rule (seed tips a and b; reproduced on OVS 3.1): deleting a meter
// deletes every flow that uses it, and adding it again does not bring them
// back; mod-meter keeps them. So bands, unit and flags change in place, and a
// new id or bridge replaces the meter — delete before create, with the flows
// that list it in `meters` replaced around it (see flow.ts).
import { z } from "zod";
import { exec, hostLabel } from "./host.ts";
import { delMeterArgv, dumpMeterArgv, isNoSuchBridge, meterArgv, parseDumpMeter, type MeterSpec } from "./ovs/ofctl.ts";
import { asMap, findClause, parseFinds, vsctl } from "./ovs/vsctl.ts";
import { claim, dynamicProvider } from "./resource.ts";
import { adopt, hostSpec, identity, ifName } from "./schema.ts";

/** Band rates and burst sizes are 32-bit fields of the OpenFlow meter band. */
const UINT32_MAX = 0xffffffff;

const band = z
  .object({
    type: z.enum(["drop", "dscp_remark"]).describe("drop, or dscp_remark (with precLevel) above the rate."),
    rate: z.number().int().min(1).max(UINT32_MAX).describe("In the meter's unit, 1 to 4294967295."),
    burstSize: z.number().int().min(1).max(UINT32_MAX).optional().describe("In the meter's unit, 1 to 4294967295."),
    precLevel: z.number().int().min(1).max(63).optional().describe("How much a dscp_remark band raises the drop precedence."),
  })
  .strict()
  .refine((b) => (b.type === "dscp_remark") === (b.precLevel !== undefined), { message: "precLevel goes with dscp_remark bands, and only with them", path: ["precLevel"] });

export const meterSchema = z
  .object({
    host: hostSpec.describe("Where the bridge lives. Replaces."),
    bridge: ifName.describe("The bridge (it must allow OpenFlow13). Replaces."),
    meterId: z.number().int().min(1).max(0xffff0000).describe("Meter id, 1 to 4294901760. Replaces (delete first: the id is fixed)."),
    unit: z.enum(["kbps", "pktps"]).default("kbps").describe('Rates in kilobits or packets per second. Default "kbps". In place (mod-meter).'),
    burst: z.boolean().optional().describe("Whether bands have a burst size. Default true when any band sets burstSize. In place."),
    stats: z.boolean().default(false).describe("Collect statistics. Default false. In place."),
    bands: z.array(band).min(1, "needs at least one band").describe("At least one band: drop (or dscp_remark with precLevel) above rate, with an optional burstSize. In place."),
    adopt,
    ...identity,
  })
  .strict()
  .transform((m) => ({ ...m, burst: m.burst ?? m.bands.some((b) => b.burstSize !== undefined) }));

export type MeterInputs = z.output<typeof meterSchema>;
type MeterOutputs = MeterInputs;

const ownerKey = (meterId: number) => `ovs-offload-lab.meter.${meterId}`;

async function meterOwner(m: MeterInputs): Promise<string | undefined> {
  const [rows] = parseFinds((await exec(m.host, vsctl([findClause("Bridge", ["external_ids"], `name=${m.bridge}`)], { json: true }))).stdout);
  return rows[0] ? asMap(rows[0].external_ids)[ownerKey(m.meterId)] : undefined;
}

async function dump(m: MeterInputs): Promise<MeterSpec | undefined> {
  return parseDumpMeter((await exec(m.host, dumpMeterArgv(m.bridge, m.meterId))).stdout);
}

export const meterProvider = dynamicProvider<MeterInputs, MeterOutputs>(
  {
    schema: meterSchema,
    replaceOn: ["host", "bridge", "meterId"],
    deleteBeforeReplace: true,
    idOf: (m) => `${m.bridge}/meter=${m.meterId}`,
    async create(m) {
      const [existing, owner] = await Promise.all([dump(m), meterOwner(m)]);
      if (existing) claim("meter", String(m.meterId), `bridge ${m.bridge} on ${hostLabel(m.host)}`, owner, m);
      // The mark first: a create cut short between the two steps leaves a mark
      // with no meter, which the next create takes over, never a meter of ours
      // that looks foreign.
      await exec(m.host, vsctl([["set", "Bridge", m.bridge, `external_ids:${ownerKey(m.meterId)}=${m.owner}`]]));
      await exec(m.host, meterArgv(existing ? "mod-meter" : "add-meter", m.bridge, m));
      return m;
    },
    async read(_id, props) {
      // Meters outlive no OVS restart: one of the same id made since by
      // another owner is not this one.
      const now = await dump(props);
      return now && (await meterOwner(props)) === props.owner ? { ...props, ...now } : undefined;
    },
    async update(_id, _olds, news) {
      await exec(news.host, meterArgv("mod-meter", news.bridge, news));
      return news;
    },
    async delete(_id, props) {
      // Another owner's meter of the same id stays, flows and all.
      if ((await meterOwner(props)) !== props.owner) return;
      // del-meter also deletes the flows that use the meter (OVS's rule); their
      // resources were deleted first, as they depend on this one.
      try {
        await exec(props.host, delMeterArgv(props.bridge, props.meterId));
      } catch (err) {
        if (!isNoSuchBridge(err)) throw err;
      }
      // key=value: the mark goes only while it is still ours.
      await exec(props.host, vsctl([["--if-exists", "remove", "Bridge", props.bridge, "external_ids", `${ownerKey(props.meterId)}=${props.owner}`]]));
    },
  },
);
