// A PF's eswitch mode through devlink (iproute2): `devlink -j dev eswitch show
// pci/<addr>` read back, `devlink dev eswitch set pci/<addr> mode <mode>`.
// Where the kernel has no devlink, or the device none, devlink says so and so
// do we: the lab's emulated NIC has no devlink device, and nothing here
// pretends it has one.
import { CommandError, exec, hostLabel, type HostSpec } from "./host.ts";

export const ESWITCH_MODES = ["legacy", "switchdev"] as const;
export type EswitchMode = (typeof ESWITCH_MODES)[number];

/** What the lab answers when asked for devlink: it has no SmartNIC to ask. */
export const LAB_NO_DEVLINK = "devlink: not available on this host (lab: no SmartNIC)";

/** The eswitch attributes devlink prints; each only when the driver reports it. */
export interface Eswitch {
  mode?: string;
  inlineMode?: string;
  /** "none"/"basic" (iproute2 since 5.x prints encap-mode), or "enable"/"disable" (older, encap). */
  encapMode?: string;
}

const handle = (pciAddress: string) => `pci/${pciAddress}`;

export const eswitchShowArgv = (pciAddress: string) => ["devlink", "-j", "dev", "eswitch", "show", handle(pciAddress)];
export const eswitchSetArgv = (pciAddress: string, mode: EswitchMode) => ["devlink", "dev", "eswitch", "set", handle(pciAddress), "mode", mode];

/**
 * `devlink -j dev eswitch show pci/<addr>`: {"dev":{"pci/<addr>":{"mode":…,
 * "inline-mode":…,"encap-mode":…}}} (iproute2 devlink.c, pr_out_eswitch).
 * A device that reports no attribute is printed as {"dev":{}}.
 */
export function parseEswitchShow(stdout: string, pciAddress: string): Eswitch {
  const json = JSON.parse(stdout) as { dev?: Record<string, Record<string, string>> };
  if (!json.dev || typeof json.dev !== "object") throw new Error(`devlink printed no "dev" object: ${stdout.trim()}`);
  const attrs = json.dev[handle(pciAddress)] ?? {};
  return { mode: attrs.mode, inlineMode: attrs["inline-mode"], encapMode: attrs["encap-mode"] ?? attrs.encap };
}

/**
 * devlink's own words for "there is nothing to ask": the kernel has no devlink
 * family (this machine: iproute2 6.1 prints "Failed to connect to devlink
 * Netlink"), or the device is not a devlink device ("devlink answers: No such
 * device"), or its driver has no eswitch ("… Operation not supported").
 */
const NOT_AVAILABLE = [/^Failed to connect to devlink Netlink$/m, /^devlink answers: (?:No such device|Operation not supported)$/m];

/** A failed devlink call, said plainly when devlink has nothing to ask. */
function unavailable(host: HostSpec, pciAddress: string, err: unknown): Error {
  if (err instanceof CommandError && NOT_AVAILABLE.some((p) => p.test(err.stderr))) {
    return new Error(`devlink: not available on ${hostLabel(host)} for ${handle(pciAddress)} (${err.stderr.trim()}): is the NIC's driver loaded, and does it support switchdev?`, { cause: err });
  }
  return err as Error;
}

/** The eswitch mode devlink reports for the PF ("" when it reports none). */
export async function eswitchMode(host: HostSpec, pciAddress: string): Promise<string> {
  try {
    return parseEswitchShow((await exec(host, eswitchShowArgv(pciAddress))).stdout, pciAddress).mode ?? "";
  } catch (err) {
    throw unavailable(host, pciAddress, err);
  }
}

export async function setEswitchMode(host: HostSpec, pciAddress: string, mode: EswitchMode): Promise<void> {
  try {
    await exec(host, eswitchSetArgv(pciAddress, mode));
  } catch (err) {
    throw unavailable(host, pciAddress, err);
  }
}
