// VfBinding: a PCI VF bound to a driver (nfp_netvf, nfp_uio, vfio-pci, …) as
// `dpdk-devbind --bind` does it. The driver found at create is restored on
// delete; it is kept on the VF's host too, with the owner, before the bind,
// so that a create cut short is finished (or recovered) exactly and another
// stack's binding of the VF is refused. A bind that fails puts the VF back.
import { posix } from "node:path";
import { z } from "zod";
import { exec, hostLabel, ignoring } from "./host.ts";
import { bind, currentDriver, deviceExists, netdevs, type PciDevice } from "./pci.ts";
import { dynamicProvider, ownedElsewhere } from "./resource.ts";
import { hostSpec, identity, pciAddress, sysfsRoot } from "./schema.ts";

export const vfBindingSchema = z
  .object({
    host: hostSpec.describe("The machine with the NIC. Replaces."),
    pciAddress: pciAddress.describe("The VF's PCI address, e.g. 0000:04:08.0. Replaces."),
    driver: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "must be a driver name: lowercase letters, digits, '_' or '-'").describe('The driver to bind: "nfp_netvf" (a netdev), "nfp_uio" or "vfio-pci" (for DPDK). In place (rebinds).'),
    sysfsRoot: sysfsRoot.default("/sys").describe('Where sysfs is mounted. Default "/sys"; the lab passes its emulated tree. Replaces.'),
    ...identity,
  })
  .strict();

export type VfBindingInputs = z.output<typeof vfBindingSchema>;

export interface VfBindingOutputs extends VfBindingInputs {
  /** The driver the VF had before ("" for none); delete binds it back. */
  originalDriver: string;
  /** The VF's netdev, when the driver makes one ("" otherwise). */
  netdev: string;
}

/**
 * Where a binding keeps on the VF's host what it found there: beside a lab
 * host's emulated sysfs, else in /run (gone at reboot, like the binding).
 */
const recordFile = (v: PciDevice) => posix.join(v.sysfsRoot === "/sys" ? "/run/ovs-offload-lab" : posix.dirname(v.sysfsRoot), "vf-binding", v.pciAddress);

/** Who bound the VF, and the driver it had before. */
interface BindingRecord {
  owner: string;
  originalDriver: string;
}

async function readRecord(v: PciDevice): Promise<BindingRecord | undefined> {
  const found = await exec(v.host, ["cat", recordFile(v)]).catch(ignoring("not-found"));
  return found ? (JSON.parse(found.stdout) as BindingRecord) : undefined;
}

/** Written whole or not at all: a new file (parents made), renamed into place. */
async function writeRecord(v: PciDevice, record: BindingRecord): Promise<void> {
  const file = recordFile(v);
  await exec(v.host, ["mkdir", "-p", posix.dirname(file)]);
  await exec(v.host, ["tee", `${file}.new`], { stdin: JSON.stringify(record) });
  await exec(v.host, ["mv", "-f", `${file}.new`, file]);
}

async function removeRecord(v: PciDevice): Promise<void> {
  const file = recordFile(v);
  await exec(v.host, ["rm", "-f", file]);
  await exec(v.host, ["rmdir", "--ignore-fail-on-non-empty", posix.dirname(file)]);
}

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

async function state(v: VfBindingInputs, originalDriver: string): Promise<VfBindingOutputs | undefined> {
  if (!(await deviceExists(v))) return undefined;
  const driver = (await currentDriver(v)) ?? "";
  return { ...v, driver, originalDriver, netdev: (await netdevs(v))[0] ?? "" };
}

export const vfBindingProvider = dynamicProvider<VfBindingInputs, VfBindingOutputs>(
  {
    schema: vfBindingSchema,
    replaceOn: ["host", "pciAddress", "sysfsRoot"],
    deleteBeforeReplace: true,
    idOf: (v) => v.pciAddress,
    async create(v) {
      if (!(await deviceExists(v))) throw new Error(`no PCI device ${v.pciAddress} under ${v.sysfsRoot}/bus/pci/devices; is SR-IOV enabled (sriov_numvfs)?`);
      const record = await readRecord(v);
      if (record && record.owner !== v.owner) throw ownedElsewhere("VF", v.pciAddress, hostLabel(v.host), record.owner);
      // A record of ours is a create cut short: the driver it found is the original, not the one bound now.
      const originalDriver = record?.originalDriver ?? (await currentDriver(v)) ?? "";
      if (!record) await writeRecord(v, { owner: v.owner, originalDriver });
      try {
        await bindOrPutBack(v, v.driver, originalDriver);
      } catch (err) {
        // Back as it was (else the record stays, for the next create or recover).
        if ((await currentDriver(v)) === (originalDriver || undefined)) await removeRecord(v);
        throw err;
      }
      return (await state(v, originalDriver))!;
    },
    async read(_id, props) {
      const record = await readRecord(props);
      // Another binding holds the VF now: this one is gone.
      if (record && record.owner !== props.owner) return undefined;
      // A create read back by recover has only its inputs: what it found is on the host, or it never began.
      const originalDriver = record?.originalDriver ?? props.originalDriver;
      return originalDriver === undefined ? undefined : state(props, originalDriver);
    },
    async update(_id, olds, news) {
      await bindOrPutBack(news, news.driver, olds.driver);
      return (await state(news, olds.originalDriver))!;
    },
    async delete(_id, props) {
      const record = await readRecord(props);
      if (record && record.owner !== props.owner) return;
      if (await deviceExists(props)) await bind(props, (record?.originalDriver ?? props.originalDriver) || undefined);
      if (record) await removeRecord(props);
    },
  },
);
