// What check refuses in a flow's match because OVS's flow parser
// (ofp-flow.c parse_ofp_str__) would not read it as a match field: each of
// these, written after a real match, leaves OVS a wider match than written.
import { describe, expect, test } from "vitest";
import { matchProblems } from "../../provider/ovs/flow-syntax.ts";

describe("flow-mod keywords are not match fields", () => {
  test.each([
    ["in_port=7,send_flow_rem", /send_flow_rem is not part of a match: it is a flow-mod flag/],
    ["in_port=7,check_overlap", /check_overlap is not part of a match: it is a flow-mod flag/],
    ["in_port=7,reset_counts", /reset_counts is not part of a match: it is a flow-mod flag/],
    ["in_port=7,no_packet_counts", /no_packet_counts is not part of a match: it is a flow-mod flag/],
    ["in_port=7,no_byte_counts", /no_byte_counts is not part of a match: it is a flow-mod flag/],
    ["send_flow_rem=1,in_port=7", /send_flow_rem is not part of a match/],
    ["in_port=7,allow_hidden_fields", /allow_hidden_fields is not part of a match: OVS's flow parser ignores it/],
    ["no_readonly_table,in_port=7", /no_readonly_table is not part of a match: OVS's flow parser ignores it/],
    ["in_port=7,idle_timeout=10", /idle_timeout is not part of a match: .*would make OVS expire the flow/],
    ["in_port=7,hard_timeout=10", /hard_timeout is not part of a match: .*would make OVS expire the flow/],
    ["in_port=7,importance=5", /importance is not part of a match: .*evict/],
    ["in_port=7,cookie=0x1", /cookie is not part of a match: the resource sets/],
    ["table=3,in_port=7", /table is not part of a match: use the flow's own table input/],
    ["in_port=7,priority=5", /priority is not part of a match: use the flow's own priority input/],
    ["in_port=7,out_port=1", /out_port is not part of a match: .*use in_port/],
    ["in_port=7,out_group=1", /out_group is not part of a match/],
    ["in_port=7,n_packets=0", /n_packets is not part of a match: dump-flows prints it/],
    ["in_port=7,n_bytes=0", /n_bytes is not part of a match: dump-flows prints it/],
    ["duration=1.5s,in_port=7", /duration is not part of a match: dump-flows prints it/],
    ["in_port=7,idle_age=3", /idle_age is not part of a match: dump-flows prints it/],
    ["in_port=7,hard_age=3", /hard_age is not part of a match: dump-flows prints it/],
  ])("%j is refused", (match, why) => expect(matchProblems(match).join("; ")).toMatch(why));
});

describe('"action" anywhere cuts the match: OVS starts the actions there', () => {
  test.each(["in_port=1,actions=drop", "in_port=1,action", "in_port=7,xaction", "in_port=7,reg0=1,actionfoo=3", "tun_metadata0=action,in_port=1", "in_port=7,send_flow_rem,actions"])(
    "%j is refused",
    (match) => expect(matchProblems(match)).toEqual([expect.stringMatching(/^must not contain "action": OVS starts a flow's actions at the first "action"/)]),
  );
});

describe("words OVS reads by name alone, or only once", () => {
  test.each([
    ["tcp=80", /tcp takes no value: OVS ignores =80 and matches every tcp packet/],
    ["ip=198.51.100.1", /ip takes no value/],
    ["in_port=1,udp6=53", /udp6 takes no value/],
    ["eth=1,in_port=1", /eth takes no value/],
    ["in_port=1,in_port=2", /in_port is given twice: OVS keeps only the last/],
    ["ip,nw_dst=198.51.100.1,nw_dst=198.51.100.2", /nw_dst is given twice/],
  ])("%j is refused", (match, why) => expect(matchProblems(match).join("; ")).toMatch(why));

  test.each(["tcp,tp_dst=80", "eth,in_port=1", "ip,nw_dst=198.51.100.0/24", "in_port=7,reg0=0x1/0x1", "mpls"])("%j is fine", (match) => expect(matchProblems(match)).toEqual([]));
});
