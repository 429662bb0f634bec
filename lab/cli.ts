// lab up | down | status — the built-in lab on this machine (needs root).
import { parseArgs } from "node:util";
import { timed } from "../provider/host.ts";
import { DEFAULT_LAB_NAME, DEFAULT_VF_COUNT, labLayout } from "./layout.ts";
import { labDown, labStatus, labUp } from "./lab.ts";
import { exitWith } from "./process.ts";

const HELP = `Usage: npm run lab -- <up|down|status> [--name NAME] [--vfs N]

The built-in lab: hosts host1, host2 and gateway, each a network namespace
(<name>-host1, ...) running its own Open vSwitch with the userspace (netdev)
datapath, joined by a veth underlay (192.0.2.0/24, MTU 9000, on each host's
br-phy bridge), each with an EMULATED SmartNIC: a PF (0000:04:00.0, its
uplink the underlay link ul0) with N VFs, each a veth pair whose host end is
the representor sdn_v0.<n>, in an emulated sysfs tree
(/run/ovs-offload-lab/<name>/<host>/sys) that acts like the kernel's: the
PF's sriov_numvfs (N at up; write 0, then a count, to remove or make VFs),
virtfn<n>/physfn links, phys_port_name (pf0vf<n>, p0) and phys_switch_id in
class/net, driver bind/unbind. No devlink device: no eswitch mode to set.

  up       create what is missing (idempotent)
  down     remove every namespace, link, process and file of the lab, also
           after a crashed or killed up (idempotent)
  status   print what exists, as JSON

Options:
  --name NAME   lab name, 1-8 lowercase letters/digits (default ${DEFAULT_LAB_NAME})
  --vfs N       VFs per emulated NIC (its sriov_totalvfs), 1-64 (default ${DEFAULT_VF_COUNT}; up only)
`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { name: { type: "string", default: DEFAULT_LAB_NAME }, vfs: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  const command = positionals[0];
  if (values.help || positionals.length !== 1 || !["up", "down", "status"].includes(command)) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  const vfs = values.vfs === undefined ? DEFAULT_VF_COUNT : Number(values.vfs);
  if (!Number.isInteger(vfs) || vfs < 1 || vfs > 64) throw new Error(`--vfs must be a whole number from 1 to 64, not ${values.vfs}`);
  const lab = labLayout(values.name, vfs);
  const say = (line: string) => process.stdout.write(`[lab ${lab.name}] ${line}\n`);
  if (command === "status") {
    process.stdout.write(JSON.stringify(await labStatus(lab), null, 2) + "\n");
    return 0;
  }
  const [, seconds] = await timed(() => (command === "up" ? labUp(lab, say) : labDown(lab, say)));
  say(`${command}: done in ${seconds.toFixed(1)} s`);
  return 0;
}

exitWith("lab", main);
