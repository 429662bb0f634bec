// VfBinding: a PCI VF bound to a driver (nfp_netvf, nfp_uio, vfio-pci, …) as
// `dpdk-devbind --bind` does it. The driver found at create is restored on
// delete; it is kept on the VF's host too, with the owner, before the bind,
// so that a create cut short is finished (or recovered) exactly and another
// stack's binding of the VF is refused. A bind that fails puts the VF back.
// Its output `representor` is the VF's representor, found in sysfs (or named).
import { z } from "zod";
import { hostLabel } from "./host.ts";
import { readRecord, removeRecord, writeRecord, type HostRecord } from "./host-record.ts";
import { bind, currentDriver, deviceExists, netdevs, type PciDevice } from "./pci.ts";
import { findRepresentor } from "./representor.ts";
import { dynamicProvider, ownedElsewhere } from "./resource.ts";
import { hostSpec, identity, ifName, pciAddress, sysfsRoot } from "./schema.ts";

export const vfBindingSchema = z
  .object({
    host: hostSpec.describe("The machine with the NIC. Replaces."),
    pciAddress: pciAddress.describe("The VF's PCI address, e.g. 0000:04:08.0. Replaces."),
    driver: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "must be a driver name: lowercase letters, digits, '_' or '-'").describe('The driver to bind: "nfp_netvf" (a netdev), "nfp_uio" or "vfio-pci" (for DPDK). In place (rebinds).'),
    sysfsRoot: sysfsRoot.default("/sys").describe('Where sysfs is mounted. Default "/sys"; the lab passes its emulated tree. Replaces.'),
    representorName: ifName
      .optional()
      .describe(
        "The VF's representor, named rather than found: for a driver whose representors have no phys_port_name. Default: found in sysfs (the netdev on the PF's eswitch whose phys_port_name is pf<P>vf<N>). In place.",
      ),
    ...identity,
  })
  .strict();

export type VfBindingInputs = z.output<typeof vfBindingSchema>;

export interface VfBindingOutputs extends VfBindingInputs {
  /** The driver the VF had before ("" for none); delete binds it back. */
  originalDriver: string;
  /** The VF's netdev, when the driver makes one ("" otherwise). */
  netdev: string;
  /** The VF's representor: `representorName`, or the one found in sysfs. */
  representor: string;
}

/** Who bound the VF, and the driver it had before (host-record.ts). */
interface BindingRecord extends HostRecord {
  originalDriver: string;
}

const RECORD = "vf-binding";
const readBinding = (v: PciDevice) => readRecord<BindingRecord>(v, RECORD, v.pciAddress);

/** The representor to report: the one named, or the one sysfs shows. */
const representorOf = (v: VfBindingInputs) => (v.representorName !== undefined ? Promise.resolve(v.representorName) : findRepresentor(v));

/** Binds `driver`, or, when that fails, puts the VF back on `previous` ("" for none) and says so: all or nothing. */
async function bindOrPutBack(v: VfBindingInputs, driver: string, previous: string): Promise<void> {
  try {
    await bind(v, driver);
  } catch (err) {
    const back = previous || "no driver";
    try {
      await bind(v, previous || undefined);
    } catch (again) {
      throw new Error(`${(err as Error).message}; putting ${v.pciAddress} back on ${back} failed too: ${(again as Error).message}`, { cause: err });
    }
    throw new Error(`${(err as Error).message}; ${v.pciAddress} is back on ${back}`, { cause: err });
  }
}

/** The binding as the VF (which is there) shows it now. */
async function state(v: VfBindingInputs, originalDriver: string, representor: string): Promise<VfBindingOutputs> {
  const driver = (await currentDriver(v)) ?? "";
  return { ...v, driver, originalDriver, netdev: (await netdevs(v))[0] ?? "", representor };
}

export const vfBindingProvider = dynamicProvider<VfBindingInputs, VfBindingOutputs>(
  {
    schema: vfBindingSchema,
    replaceOn: ["host", "pciAddress", "sysfsRoot"],
    deleteBeforeReplace: true,
    idOf: (v) => v.pciAddress,
    async create(v) {
      if (!(await deviceExists(v))) throw new Error(`no PCI device ${v.pciAddress} under ${v.sysfsRoot}/bus/pci/devices; is SR-IOV enabled (sriov_numvfs)?`);
      const record = await readBinding(v);
      if (record && record.owner !== v.owner) throw ownedElsewhere("VF", v.pciAddress, hostLabel(v.host), record.owner);
      // Before anything changes: a representor that cannot be found leaves the VF as it was.
      const representor = await representorOf(v);
      // A record of ours is a create cut short: the driver it found is the original, not the one bound now.
      const originalDriver = record?.originalDriver ?? (await currentDriver(v)) ?? "";
      if (!record) await writeRecord(v, RECORD, v.pciAddress, { owner: v.owner, originalDriver });
      try {
        await bindOrPutBack(v, v.driver, originalDriver);
      } catch (err) {
        // Back as it was (else the record stays, for the next create or recover).
        if ((await currentDriver(v)) === (originalDriver || undefined)) await removeRecord(v, RECORD, v.pciAddress);
        throw err;
      }
      return state(v, originalDriver, representor);
    },
    async read(_id, props) {
      const record = await readBinding(props);
      // Another binding holds the VF now: this one is gone.
      if (record && record.owner !== props.owner) return undefined;
      // A create read back by recover has only its inputs: what it found is on the host, or it never began.
      const originalDriver = record?.originalDriver ?? props.originalDriver;
      if (originalDriver === undefined || !(await deviceExists(props))) return undefined;
      // A representor renamed (or a VF that moved) is drift: the Port that takes this name follows it.
      return state(props, originalDriver, await representorOf(props));
    },
    async update(_id, olds, news) {
      const representor = await representorOf(news);
      await bindOrPutBack(news, news.driver, olds.driver);
      return state(news, olds.originalDriver, representor);
    },
    async delete(_id, props) {
      const record = await readBinding(props);
      if (record && record.owner !== props.owner) return;
      if (await deviceExists(props)) await bind(props, (record?.originalDriver ?? props.originalDriver) || undefined);
      if (record) await removeRecord(props, RECORD, props.pciAddress);
    },
    // A binding made before the representor was an output has none in its state: an update finds it.
    drift: (olds) => (olds.representor === undefined ? ["representor"] : []),
  },
);
