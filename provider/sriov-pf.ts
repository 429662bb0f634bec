// SriovPf: a PCI physical function's SR-IOV settings — how many VFs it has
// (sysfs sriov_numvfs) and, on a SmartNIC, its eswitch mode (devlink). What
// the PF had is kept on its host with the owner (host-record.ts) before
// anything changes, and given back on delete: the count, and the mode when
// this resource set one. The kernel changes a non-zero count only through 0,
// and the eswitch mode is changed with no VFs (ice requires it; mlx5 and nfp
// allow it): either change removes every VF and makes them anew, so it is
// refused while a VfBinding, of any stack, holds one of them.
import { z } from "zod";
import { ESWITCH_MODES, eswitchMode, LAB_NO_DEVLINK, setEswitchMode, type EswitchMode } from "./devlink.ts";
import { hostLabel } from "./host.ts";
import { readRecord, recordNames, removeRecord, writeRecord, type HostRecord } from "./host-record.ts";
import { deviceDir, setNumVfs, sriovCounts, virtfns, type PciDevice } from "./pci.ts";
import { dynamicProvider, ownedElsewhere } from "./resource.ts";
import { hostSpec, identity, pciAddress, sysfsRoot } from "./schema.ts";

/** The lab's emulated trees are the only sysfs roots besides /sys (schema.ts): its NIC has no devlink device. */
const onLab = (p: { sysfsRoot: string }) => p.sysfsRoot !== "/sys";

export const sriovPfSchema = z
  .object({
    host: hostSpec.describe("The machine with the NIC. Replaces."),
    pciAddress: pciAddress.describe("The PF's PCI address, e.g. 0000:04:00.0 (lspci -D; a VF's physfn link points at it). Replaces."),
    numVfs: z
      .number()
      .int()
      .min(0)
      .max(4096)
      .describe(
        "How many VFs the PF has (sriov_numvfs), 0 to its sriov_totalvfs. In place: the kernel goes through 0, so every VF is removed and made anew; refused while a VfBinding holds one of them.",
      ),
    eswitchMode: z
      .enum(ESWITCH_MODES)
      .optional()
      .describe(
        'The eswitch mode (devlink dev eswitch set … mode): "switchdev" (VF representors, TC offload) or "legacy". Default: left as it is. In place, with no VFs for the moment; taken out, the mode the PF had comes back. Not on the lab, whose emulated NIC has no devlink device.',
      ),
    sysfsRoot: sysfsRoot.default("/sys").describe('Where sysfs is mounted. Default "/sys"; the lab passes its emulated tree. Replaces.'),
    ...identity,
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.eswitchMode !== undefined && onLab(p)) ctx.addIssue({ code: "custom", path: ["eswitchMode"], message: `${LAB_NO_DEVLINK}; leave eswitchMode out there` });
  });

export type SriovPfInputs = z.output<typeof sriovPfSchema>;

export interface SriovPfOutputs extends SriovPfInputs {
  /** sriov_totalvfs: the most VFs the PF can have. */
  totalVfs: number;
  /** The VFs' PCI addresses by index (virtfn<N>): pass one to a VfBinding. */
  vfs: string[];
  /** The count the PF had before; delete gives it back. */
  originalNumVfs: number;
  /** The eswitch mode the PF had before this resource set one ("" while it sets none). */
  originalEswitchMode: string;
}

/** What the PF had, with who changed it (host-record.ts). */
interface PfRecord extends HostRecord {
  numVfs: number;
  eswitchMode: string;
}

const RECORD = "sriov-pf";
const readPf = (p: SriovPfInputs) => readRecord<PfRecord>(p, RECORD, p.pciAddress);

function refuseOnLab(p: SriovPfInputs): void {
  if (p.eswitchMode !== undefined && onLab(p)) throw new Error(`${LAB_NO_DEVLINK}: ${p.pciAddress} on ${hostLabel(p.host)} is the lab's emulated NIC; leave eswitchMode out there`);
}

async function counts(p: PciDevice): Promise<{ numVfs: number; totalVfs: number }> {
  const found = await sriovCounts(p);
  if (!found) {
    throw new Error(
      `no SR-IOV physical function ${p.pciAddress} on ${hostLabel(p.host)}: ${deviceDir(p)}/sriov_totalvfs is not there; give the PF's address (lspci -D; a VF's physfn link points at it)`,
    );
  }
  return found;
}

/** The PF's VFs that a VfBinding (of any stack) holds, each with its owner. */
async function heldVfs(p: SriovPfInputs): Promise<string[]> {
  const bound = new Set(await recordNames(p, "vf-binding"));
  const held = (await virtfns(p)).filter((vf) => vf && bound.has(vf));
  return Promise.all(held.map(async (vf) => `${vf} (${(await readRecord(p, "vf-binding", vf))?.owner})`));
}

/** Brings the PF to `numVfs` VFs and eswitch `mode` (undefined: as it is), doing only what differs. */
async function apply(p: SriovPfInputs, numVfs: number, mode: EswitchMode | undefined): Promise<void> {
  const now = await counts(p);
  const modeChange = mode !== undefined && (await eswitchMode(p.host, p.pciAddress)) !== mode;
  if (now.numVfs === numVfs && !modeChange) return;
  if (numVfs > now.totalVfs) throw new Error(`PF ${p.pciAddress} on ${hostLabel(p.host)} can have at most ${now.totalVfs} VFs (sriov_totalvfs), not ${numVfs}`);
  const held = now.numVfs > 0 ? await heldVfs(p) : [];
  if (held.length) {
    throw new Error(
      `changing PF ${p.pciAddress} on ${hostLabel(p.host)} removes every VF, and VfBindings hold ${held.join(", ")}: remove those bindings first (destroy them, or take them out of their programs), then run again`,
    );
  }
  if (modeChange) {
    await setNumVfs(p, now.numVfs, 0);
    await setEswitchMode(p.host, p.pciAddress, mode);
  }
  await setNumVfs(p, modeChange ? 0 : now.numVfs, numVfs);
}

/** A mode to give back: the one recorded, when there is one. */
const given = (mode: string) => (ESWITCH_MODES as readonly string[]).includes(mode) ? (mode as EswitchMode) : undefined;

async function state(p: SriovPfInputs, original: PfRecord): Promise<SriovPfOutputs> {
  const now = await counts(p);
  return {
    ...p,
    numVfs: now.numVfs,
    eswitchMode: p.eswitchMode === undefined ? undefined : ((await eswitchMode(p.host, p.pciAddress)) as EswitchMode),
    totalVfs: now.totalVfs,
    vfs: (await virtfns(p)).filter(Boolean),
    originalNumVfs: original.numVfs,
    originalEswitchMode: original.eswitchMode,
  };
}

export const sriovPfProvider = dynamicProvider<SriovPfInputs, SriovPfOutputs>({
  schema: sriovPfSchema,
  replaceOn: ["host", "pciAddress", "sysfsRoot"],
  deleteBeforeReplace: true,
  idOf: (p) => p.pciAddress,
  async create(p) {
    refuseOnLab(p);
    const now = await counts(p);
    const record = await readPf(p);
    if (record && record.owner !== p.owner) throw ownedElsewhere("PF", p.pciAddress, hostLabel(p.host), record.owner);
    // A record of ours is a create cut short: what it found is the original, not what the PF has now.
    const original = record ?? { owner: p.owner, numVfs: now.numVfs, eswitchMode: p.eswitchMode === undefined ? "" : await eswitchMode(p.host, p.pciAddress) };
    if (!record) await writeRecord(p, RECORD, p.pciAddress, original);
    try {
      await apply(p, p.numVfs, p.eswitchMode);
    } catch (err) {
      // All or nothing: back as it was, and then no record (else it stays, for the next create or delete).
      try {
        await apply(p, original.numVfs, p.eswitchMode === undefined ? undefined : given(original.eswitchMode));
      } catch (again) {
        throw new Error(`${(err as Error).message}; putting ${p.pciAddress} back on ${original.numVfs} VFs failed too: ${(again as Error).message}`, { cause: err });
      }
      await removeRecord(p, RECORD, p.pciAddress);
      throw err;
    }
    return state(p, original);
  },
  async read(_id, props) {
    const record = await readPf(props);
    // Another SriovPf holds the PF now: this one is gone.
    if (record && record.owner !== props.owner) return undefined;
    // A create read back by recover has only its inputs: what it found is on the host, or it never began.
    const original = record ?? (props.originalNumVfs === undefined ? undefined : { owner: props.owner, numVfs: props.originalNumVfs, eswitchMode: props.originalEswitchMode });
    if (!original || !(await sriovCounts(props))) return undefined;
    return state(props, original);
  },
  async update(_id, olds, news) {
    refuseOnLab(news);
    const record = await readPf(news);
    if (record && record.owner !== news.owner) throw ownedElsewhere("PF", news.pciAddress, hostLabel(news.host), record.owner);
    let original: PfRecord = record ?? { owner: news.owner, numVfs: olds.originalNumVfs, eswitchMode: olds.originalEswitchMode };
    // A mode set for the first time: the one the PF has is what to give back.
    if (news.eswitchMode !== undefined && olds.eswitchMode === undefined) {
      original = { ...original, eswitchMode: await eswitchMode(news.host, news.pciAddress) };
      await writeRecord(news, RECORD, news.pciAddress, original);
    }
    const givenUp = news.eswitchMode === undefined && olds.eswitchMode !== undefined;
    await apply(news, news.numVfs, givenUp ? given(original.eswitchMode) : news.eswitchMode);
    if (givenUp) {
      original = { ...original, eswitchMode: "" };
      await writeRecord(news, RECORD, news.pciAddress, original);
    }
    return state(news, original);
  },
  async delete(_id, props) {
    const record = await readPf(props);
    if (record && record.owner !== props.owner) return;
    const original = record ?? { owner: props.owner, numVfs: props.originalNumVfs, eswitchMode: props.originalEswitchMode };
    if (await sriovCounts(props)) await apply(props, original.numVfs, props.eswitchMode === undefined ? undefined : given(original.eswitchMode));
    if (record) await removeRecord(props, RECORD, props.pciAddress);
  },
});
