// node vm/cli.ts start|stop — a scenario 5 guest (and its relay), as the
// virtio-relay stacks start and stop it through @pulumi/command.
import { parseArgs } from "node:util";
import { exitWith } from "../lab/process.ts";
import { startGuest, startRelay, stopGuest } from "./guest.ts";

const HELP = `Usage: node vm/cli.ts start --dir DIR --netns NS --mac MAC --address ADDR/LEN --mtu N
                          (--tap NAME | --relay-netns NS --relay-link LINK)
       node vm/cli.ts stop --dir DIR [--relay-netns NS --relay-link LINK]

start  boots a QEMU guest (TCG) in namespace NS from the guest image
       (vm/image.ts) and waits for its console; its NIC is tap NAME, or a
       socket served to a relay (EMULATION of virtio-relay) started in
       namespace --relay-netns on the parked VF link --relay-link
stop   stops relay and guest by their pidfiles and removes DIR
`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: Object.fromEntries(["dir", "netns", "mac", "address", "mtu", "tap", "relay-netns", "relay-link"].map((k) => [k, { type: "string" as const }])),
  });
  const need = (k: string) => {
    const v = values[k];
    if (typeof v !== "string") throw new Error(`--${k} is needed\n${HELP}`);
    return v;
  };
  const relay = values["relay-netns"] !== undefined ? { netns: need("relay-netns"), link: need("relay-link") } : undefined;
  switch (positionals[0]) {
    case "start":
      try {
        await startGuest({
          dir: need("dir"), host: { kind: "netns", netns: need("netns") }, mac: need("mac"), address: need("address"), mtu: Number(need("mtu")),
          nic: relay ? { relaySocket: true } : { tap: need("tap") },
        });
        if (relay) await startRelay(need("dir"), relay.netns, relay.link);
      } catch (err) {
        // A start that failed leaves nothing: its resource is not created, so no delete would ever stop the guest (or its tap).
        await stopGuest(need("dir"), relay);
        throw err;
      }
      return 0;
    case "stop":
      await stopGuest(need("dir"), relay);
      return 0;
    default:
      process.stderr.write(HELP);
      return 2;
  }
}

exitWith("vm", main);
