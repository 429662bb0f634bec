// The seed's figures (runner/seed.ts) against the notes' own iperf and ping
// output, copied verbatim into test/fixtures/seed/figures.txt with the lines
// each came from: a throughput is iperf's whole-run line where there is one,
// else the median of the intervals; a ping the mean of those shown.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { SEED, type SeedFigures } from "../../runner/seed.ts";
import { stat } from "../../runner/measure.ts";
import type { Scenario, Variant } from "../../stacks/config.ts";

const FIGURE = { single: "singleGbps", parallel: "parallelGbps", ping: "pingMs" } as const;
type Kind = keyof typeof FIGURE;

const sections = readFileSync(join(import.meta.dirname, "../fixtures/seed/figures.txt"), "utf8")
  .split(/^== /m)
  .filter(Boolean)
  .map((text) => {
    const [head, ...lines] = text.trim().split("\n");
    const [scenario, variant, kind] = head.split(" ") as [Scenario, Variant, Kind];
    return { head, scenario, variant, kind, lines };
  });

/** What the notes' lines give, by the rule above. */
function figure(kind: Kind, lines: string[]): number {
  if (kind === "ping") return lines.reduce((sum, l) => sum + Number(/time=([\d.]+) ms/.exec(l)![1]), 0) / lines.length;
  const intervals = lines.map((l) => {
    const [, from, to, gbps] = /(\d+\.\d)-\s*(\d+\.\d) sec .* ([\d.]+) Gbits\/sec/.exec(l)!;
    return { from: Number(from), to: Number(to), gbps: Number(gbps) };
  });
  const end = Math.max(...intervals.map((i) => i.to));
  const whole = intervals.find((i) => i.from === 0 && i.to === end);
  return whole?.gbps ?? stat(intervals.map((i) => i.gbps)).median;
}

test.each(sections)("$head", ({ scenario, variant, kind, lines }) => {
  const digits = kind === "ping" ? 3 : 2;
  expect(SEED[scenario][variant][FIGURE[kind]]).toBe(Number(figure(kind, lines).toFixed(digits)));
});

test("every figure of the seed comes from lines of the notes", () => {
  const figures = Object.entries(SEED).flatMap(([scenario, variants]) =>
    Object.entries(variants).flatMap(([variant, f]: [string, SeedFigures]) =>
      (Object.keys(FIGURE) as Kind[]).filter((k) => f[FIGURE[k]] !== undefined).map((k) => `${scenario} ${variant} ${k}`),
    ),
  );
  expect(figures.sort()).toEqual(sections.map((s) => `${s.scenario} ${s.variant} ${s.kind}`).sort());
});
