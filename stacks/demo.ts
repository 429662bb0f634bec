// The smallest real stack on the lab: one OVS bridge on host1, made and
// removed through @pulumi/command. The scenario stacks build on the provider.
import * as command from "@pulumi/command";
import { commandFor, shellQuote, type HostSpec } from "../provider/host.ts";

export function demo(host: HostSpec, bridge: string) {
  const run = (argv: string[]) => shellQuote(commandFor(host, argv).argv);
  const made = new command.local.Command("demo-bridge", {
    create: run(["ovs-vsctl", "--timeout=10", "--may-exist", "add-br", bridge, "--", "set", "Bridge", bridge, "datapath_type=netdev"]),
    delete: run(["ovs-vsctl", "--timeout=10", "--if-exists", "del-br", bridge]),
    environment: commandFor(host, []).env,
  });
  return { bridge: made.create.apply(() => bridge) };
}
