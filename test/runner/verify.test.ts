// Flow counters as verify reads them, on a recorded dump of the gateway
// firewall's table (OVS prints tun_id in hex and output:in_port as IN_PORT).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { countPackets } from "../../runner/verify.ts";

const dump = readFileSync(join(import.meta.dirname, "../fixtures/ovs/dump-flows-firewall.txt"), "utf8");

test("packets are summed over the flows holding every item, matched whole", () => {
  expect(countPackets(dump, ["IN_PORT"])).toBe(3 + 64282 + 10368);
  expect(countPackets(dump, ["table=12", "actions=drop"])).toBe(3);
  expect(countPackets(dump, ["table=0", "nw_dst=198.51.100.1"])).toBe(10371);
  // "in_port=1" is an item of its own, not a prefix of in_port=11; table=1 is not table=12.
  expect(countPackets(dump, ["in_port=1", "tun_id=0x3e8"])).toBe(10371 + 64285);
  expect(countPackets(dump, ["table=1"])).toBe(0);
});
