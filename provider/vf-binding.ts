// VfBinding: a PCI VF bound to a driver (nfp_netvf, nfp_uio, vfio-pci, …) as
// `dpdk-devbind --bind` does it. The driver found at create is remembered and
// restored on delete.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { type HostSpec } from "./host.ts";
import { lazyProvider } from "./loader.ts";
import { bind, currentDriver, deviceExists, netdevs, type PciDevice } from "./pci.ts";
import { dynamicProvider, ownerOf, PROVIDER_VERSION, TYPE_MODULE, type Identity } from "./resource.ts";
import { hostSpec, identity, pciAddress, sysfsRoot } from "./schema.ts";

export interface VfBindingArgs {
  /** The machine with the NIC. Replaces. */
  host: pulumi.Input<HostSpec>;
  /** The VF's PCI address, e.g. "0000:04:08.0". Replaces. */
  pciAddress: pulumi.Input<string>;
  /** The driver to bind: "nfp_netvf" (a netdev), "nfp_uio" or "vfio-pci" (for DPDK). In place (rebinds). */
  driver: pulumi.Input<string>;
  /** Where sysfs is mounted. Default "/sys"; the lab passes its emulated tree. Replaces. */
  sysfsRoot?: pulumi.Input<string>;
}

export interface VfBindingInputs extends Identity {
  host: HostSpec;
  pciAddress: string;
  driver: string;
  sysfsRoot: string;
}

export interface VfBindingOutputs extends VfBindingInputs {
  /** The driver the VF had before ("" for none); delete binds it back. */
  originalDriver: string;
  /** The VF's netdev, when the driver makes one ("" otherwise). */
  netdev: string;
}

export const vfBindingSchema = z
  .object({
    host: hostSpec,
    pciAddress,
    driver: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, "must be a driver name: lowercase letters, digits, '_' or '-'"),
    sysfsRoot: sysfsRoot.default("/sys"),
    ...identity,
  })
  .strict();

async function state(v: VfBindingInputs, originalDriver: string): Promise<VfBindingOutputs | undefined> {
  if (!(await deviceExists(v))) return undefined;
  const driver = (await currentDriver(v)) ?? "";
  return { ...v, driver, originalDriver, netdev: (await netdevs(v))[0] ?? "" };
}

export const vfBindingProvider = dynamicProvider<VfBindingInputs, VfBindingOutputs>(
  {
    schema: vfBindingSchema as unknown as z.ZodType<VfBindingInputs>,
    replaceOn: ["host", "pciAddress", "sysfsRoot"],
    deleteBeforeReplace: true,
    idOf: (v) => v.pciAddress,
    async create(v) {
      if (!(await deviceExists(v))) throw new Error(`no PCI device ${v.pciAddress} under ${v.sysfsRoot}/bus/pci/devices; is SR-IOV enabled (sriov_numvfs)?`);
      const originalDriver = (await currentDriver(v)) ?? "";
      await bind(v, v.driver);
      return (await state(v, originalDriver))!;
    },
    read: (_id, props) => state(props, props.originalDriver),
    async update(_id, olds, news) {
      await bind(news, news.driver);
      return (await state(news, olds.originalDriver))!;
    },
    async delete(_id, props) {
      const device: PciDevice = props;
      if (await deviceExists(device)) await bind(device, props.originalDriver || undefined);
    },
  },
  ["host", "pciAddress", "driver", "sysfsRoot", "owner", "providerVersion"],
);

/** A PCI VF bound to a driver, given back to its original driver on delete. */
export class VfBinding extends pulumi.dynamic.Resource {
  declare readonly originalDriver: pulumi.Output<string>;
  /** The VF's netdev name when the driver makes one (nfp_netvf), else "". */
  declare readonly netdev: pulumi.Output<string>;

  constructor(name: string, args: VfBindingArgs, opts?: pulumi.CustomResourceOptions) {
    super(lazyProvider("VfBinding"), name, { ...args, originalDriver: undefined, netdev: undefined, owner: ownerOf("VfBinding", name), providerVersion: PROVIDER_VERSION }, opts, TYPE_MODULE, "VfBinding");
  }
}
