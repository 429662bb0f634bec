// The pull request's comment (runner/pr-comment.ts) on previews rendered from
// a recorded `pulumi preview --json` (test/fixtures/preview): base = head, a
// change too large for one comment, a base that could not be previewed, a head
// that failed; the diff it shows; and the workflow that finds it by its marker.
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { buildComment, LIMIT, MARKER, readPreviews, unifiedDiff, type Previews } from "../../runner/pr-comment.ts";
import { renderPreview, type PreviewJson } from "../../runner/preview.ts";
import { SCENARIOS, VARIANTS } from "../../stacks/config.ts";

const REPO = join(import.meta.dirname, "../..");
const STACKS = SCENARIOS.flatMap((s) => VARIANTS.map((v) => `${s}-${v}`));
const recorded = JSON.parse(readFileSync(join(REPO, "test/fixtures/preview/virtio-relay-offload-create.json"), "utf8")) as PreviewJson;
const ARTIFACT = "https://github.com/o/r/actions/runs/1/artifacts/2";

/** The recorded preview with `extra` more flows in host1's FlowSet. */
function withFlows(extra: number): string {
  const steps = structuredClone(recorded.steps ?? []);
  const inputs = steps.find((s) => s.urn.endsWith("FlowSet::host1-flows"))?.newState?.inputs as { flows: object[] };
  for (let k = 0; k < extra; k++) inputs.flows.push({ actions: "drop", match: `tcp,tp_dst=${10000 + k}`, priority: 40000, table: 0 });
  return renderPreview({ ...recorded, steps });
}

const previews = (text: (stack: string) => string): Previews => new Map(STACKS.map((s) => [s, { text: text(s) }]));
const base = previews(() => withFlows(0));
/** Every code fence closed, in each section. */
const fencesBalanced = (md: string) => md.split("<details>").every((part) => part.split("\n").filter((l) => /^```/.test(l)).length % 2 === 0);

test("base = head: every stack on the one 'no changes' line, a short comment, the same twice", () => {
  const comment = buildComment(base, previews(() => withFlows(0)), { artifactUrl: ARTIFACT });
  expect(comment.startsWith(`${MARKER}\n`)).toBe(true);
  expect(comment).toContain("No stack differs (10 previewed).");
  expect(comment).toContain(`**No changes**: ${[...STACKS].sort().join(", ")}\n`);
  expect(comment).not.toContain("<details>");
  expect(comment.length).toBeLessThan(1000);
  expect(buildComment(base, previews(() => withFlows(0)), { artifactUrl: ARTIFACT })).toBe(comment);
});

describe("a change larger than a comment", () => {
  const big = new Set(["meter-classic", "meter-offload", "internal-vs-netvf-classic", "internal-vs-netvf-offload"]);
  const head = previews((s) => withFlows(big.has(s) ? 2000 : s === "gateway-forward-classic" ? 1 : 0));
  const comment = buildComment(base, head, { artifactUrl: ARTIFACT });

  test("stays under the limit, cutting the largest sections, each with a pointer to the artifact", () => {
    expect(comment.length).toBeLessThanOrEqual(LIMIT);
    expect(comment).toContain("5 of 10 stacks differ.");
    const cutNote = /✂️ (\d+) more lines cut .*in \[the workflow's artifact\]\(https:\/\/github.com\/o\/r\/actions\/runs\/1\/artifacts\/2\)\./g;
    expect([...comment.matchAll(cutNote)].length).toBe(4);
    for (const s of big) expect(comment).toContain(`<details><summary><b>${s}</b>: +2000 −0 lines</summary>`);
    expect(fencesBalanced(comment)).toBe(true);
  });

  test("a small section beside them is whole, and the rest are on the 'no changes' line", () => {
    const small = comment.slice(comment.indexOf("<b>gateway-forward-classic</b>"));
    expect(small.slice(0, small.indexOf("</details>"))).toContain(`+      - {"actions":"drop","match":"tcp,tp_dst=10000","priority":40000,"table":0}\n`);
    expect(small.slice(0, small.indexOf("</details>"))).not.toContain("✂️");
    expect(comment).toContain("**No changes**: gateway-firewall-classic, gateway-firewall-offload, gateway-forward-offload, virtio-relay-classic, virtio-relay-offload\n");
  });
});

test("no base: marked at the top and per stack, each with the head's plan in full, under the limit", () => {
  const comment = buildComment(undefined, previews((s) => withFlows(s.startsWith("meter") ? 800 : 0)), { artifactUrl: ARTIFACT });
  expect(comment).toContain("⚠️ **The base could not be previewed**");
  for (const s of STACKS) expect(comment).toContain(`<details><summary><b>${s}</b>: ⚠️ base not previewed: the head's plan in full</summary>`);
  expect(comment).toContain("create FlowSet host1-flows");
  expect(comment.length).toBeLessThanOrEqual(LIMIT);
  expect(fencesBalanced(comment)).toBe(true);
});

test("one stack's base failed, another's head: the reason shown with each", () => {
  const baseWithFailure: Previews = new Map([...base, ["meter-offload", { failed: "error: ovs-offload-lab:scenario: Invalid option\nmore" }]]);
  const headWithFailure: Previews = new Map([...base, ["meter-classic", { failed: "error: Cannot find module\n    at resolve" }]]);
  const comment = buildComment(baseWithFailure, headWithFailure);
  expect(comment).toContain("> The base could not be previewed: ` error: ovs-offload-lab:scenario: Invalid option more `\n");
  expect(comment).toContain("<b>meter-classic</b>: ❌ the head could not be previewed</summary>\n\n```text\nerror: Cannot find module\n    at resolve\n```");
  expect(comment).toContain("2 of 10 stacks differ.");
});

test("the diff is diff -u's, without the file header", () => {
  const lines = (n: number) => Array.from({ length: n }, (_, i) => `l${i + 1}`);
  const a = `${lines(20).join("\n")}\n`;
  const b = a.replace("l2\n", "l2 changed\n").replace("l17\n", "").replace("l20\n", "l20\nl21\n");
  expect(unifiedDiff(a, b)).toEqual([
    "@@ -1,5 +1,5 @@", "l1", "-l2", "+l2 changed", "l3", "l4", "l5",
    "@@ -14,7 +14,7 @@", "l14", "l15", "l16", "-l17", "l18", "l19", "l20", "+l21",
  ].map((l) => (/^[-+@]/.test(l) ? l : ` ${l}`)));
  expect(unifiedDiff("", "x\n")).toEqual(["@@ -0,0 +1,1 @@", "+x"]);
  expect(unifiedDiff(a, a)).toEqual([]);
});

test("the previews as the preview command wrote them: a text, or the error", async () => {
  const dir = await mkdtemp(join(tmpdir(), "ool-pr-comment-"));
  try {
    await writeFile(join(dir, "meter-classic.txt"), "changes: create 1\n");
    await writeFile(join(dir, "meter-offload.failed"), "error: no\n");
    await writeFile(join(dir, "notes.md"), "not a preview");
    expect(await readPreviews(dir)).toEqual(new Map([["meter-classic", { text: "changes: create 1\n" }], ["meter-offload", { failed: "error: no" }]]));
    expect(await readPreviews(join(dir, "absent"))).toBeUndefined();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the workflow edits the comment that starts with the marker", () => {
  expect(readFileSync(join(REPO, ".github/workflows/preview.yml"), "utf8")).toContain(`startswith("${MARKER}")`);
});
