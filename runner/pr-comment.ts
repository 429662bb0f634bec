// The pull request's comment (.github/workflows/preview.yml): per stack, the
// diff of the base's and the head's preview texts (runner/preview.ts) in a
// <details> section; the stacks without changes on one line; a mark where a
// tree could not be previewed. GitHub refuses a comment over 65,536
// characters: past LIMIT the largest sections are cut, pointing to the
// previews in full, the workflow's artifact.
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

/** Opens the comment, so that the workflow edits its one comment per pull request rather than adding one per push. */
export const MARKER = "<!-- ovs-offload-lab-preview -->";
/** Below GitHub's 65,536 characters, with room to spare. */
export const LIMIT = 60_000;

/** A stack's preview from one tree: its text, or why there is none. */
export type Preview = { text: string } | { failed: string };
export type Previews = Map<string, Preview>;

/**
 * What `npm run scenario -- preview --out DIR` wrote: <stack>.txt, or
 * <stack>.failed holding the error. Undefined when DIR is not there (the
 * tree could not be previewed at all).
 */
export async function readPreviews(dir: string): Promise<Previews | undefined> {
  if (!existsSync(dir)) return undefined;
  const previews: Previews = new Map();
  for (const file of (await readdir(dir)).sort()) {
    const [, stack, ext] = /^(.+)\.(txt|failed)$/.exec(file) ?? [];
    if (!stack) continue;
    const content = await readFile(join(dir, file), "utf8");
    previews.set(stack, ext === "txt" ? { text: content } : { failed: content.trim() });
  }
  return previews;
}

type Sign = " " | "-" | "+";
interface Edit {
  sign: Sign;
  line: string;
}

/** Past this many cells of the LCS table (two bytes each), a change is shown as all old lines out, all new in. */
const MAX_CELLS = 10_000_000;
const as = (sign: Sign) => (line: string): Edit => ({ sign, line });

/** The edits from `x` to `y` along a longest common subsequence. */
function lcsEdits(x: string[], y: string[]): Edit[] {
  if (x.length * y.length > MAX_CELLS) return [...x.map(as("-")), ...y.map(as("+"))];
  // lcs[i * w + j]: the LCS length of x[i..] and y[j..], at most min(n, m) ≤ √MAX_CELLS.
  const w = y.length + 1;
  const lcs = new Uint16Array((x.length + 1) * w);
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      lcs[i * w + j] = x[i] === y[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
    }
  }
  const out: Edit[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      out.push(as(" ")(x[i++]));
      j++;
    } else if (j === y.length || (i < x.length && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) out.push(as("-")(x[i++]));
    else out.push(as("+")(y[j++]));
  }
  return out;
}

/** The lines of `a` and `b` as kept, removed and added; the common head and tail kept outright. */
function edits(a: string[], b: string[]): Edit[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const middle = lcsEdits(a.slice(pre, a.length - suf), b.slice(pre, b.length - suf));
  return [...a.slice(0, pre).map(as(" ")), ...middle, ...a.slice(a.length - suf).map(as(" "))];
}

/** `diff -u` of two texts without the file header: hunks with `context` lines around each change. */
export function unifiedDiff(a: string, b: string, context = 3): string[] {
  const lines = (text: string) => (text === "" ? [] : text.replace(/\n$/, "").split("\n"));
  const all = edits(lines(a), lines(b));
  const changed = all.flatMap((e, i) => (e.sign === " " ? [] : [i]));
  const count = (es: Edit[], skip: Sign) => es.filter((e) => e.sign !== skip).length;
  const out: string[] = [];
  for (let k = 0; k < changed.length; k++) {
    const first = changed[k];
    while (k + 1 < changed.length && changed[k + 1] - changed[k] <= 2 * context + 1) k++;
    const from = Math.max(0, first - context);
    const hunk = all.slice(from, Math.min(all.length, changed[k] + context + 1));
    const [oldLen, newLen] = [count(hunk, "+"), count(hunk, "-")];
    const [oldAt, newAt] = [count(all.slice(0, from), "+") + (oldLen ? 1 : 0), count(all.slice(0, from), "-") + (newLen ? 1 : 0)];
    out.push(`@@ -${oldAt},${oldLen} +${newAt},${newLen} @@`, ...hunk.map((e) => e.sign + e.line));
  }
  return out;
}

interface Section {
  stack: string;
  summary: string;
  /** A line above the block, e.g. why the base has no preview. */
  note?: string;
  lang: "diff" | "text";
  body: string[];
}

/** Backticks longer than any run of them in `lines` (and at least `min`), so that nothing inside ends the code. */
const ticks = (lines: string[], min: number) => "`".repeat(Math.max(min, ...lines.flatMap((l) => (l.match(/`+/g) ?? []).map((r) => r.length + 1))));

function renderSection(s: Section, pointer?: string): string {
  const fence = ticks(s.body, 3);
  return [
    `<details><summary><b>${s.stack}</b>: ${s.summary}</summary>`,
    "",
    ...(s.note ? [s.note, ""] : []),
    `${fence}${s.lang}`,
    ...s.body,
    fence,
    ...(pointer ? ["", pointer] : []),
    "",
    "</details>",
    "",
  ].join("\n");
}

const NOT_PREVIEWED = "no preview from this tree (the workflow's log says why)";

/** The stack's section, or undefined when base and head plan the same. */
function sectionOf(stack: string, base: Preview | undefined, head: Preview | undefined): Section | undefined {
  if (!head || "failed" in head) {
    return { stack, summary: "❌ the head could not be previewed", lang: "text", body: (head?.failed ?? NOT_PREVIEWED).split("\n") };
  }
  if (!base || "failed" in base) {
    // As code: an error's text is no markdown (nor @mentions).
    const why = base ? base.failed.split("\n").slice(0, 3).join(" ").slice(0, 400) : NOT_PREVIEWED;
    const note = `> The base could not be previewed: ${ticks([why], 1)} ${why} ${ticks([why], 1)}`;
    return { stack, summary: "⚠️ base not previewed: the head's plan in full", note, lang: "text", body: head.text.replace(/\n$/, "").split("\n") };
  }
  if (base.text === head.text) return undefined;
  const body = unifiedDiff(base.text, head.text);
  const tally = (sign: string) => body.filter((l) => l.startsWith(sign)).length;
  return { stack, summary: `+${tally("+")} −${tally("-")} lines`, lang: "diff", body };
}

/** The largest length every body may keep so that all fit in `budget` (water-filling: only the largest are cut). */
function cap(lengths: number[], budget: number): number {
  const sorted = [...lengths].sort((a, b) => a - b);
  let left = budget;
  for (const [i, n] of sorted.entries()) {
    const share = Math.floor(left / (sorted.length - i));
    if (n > share) return Math.max(0, share);
    left -= n;
  }
  return Infinity;
}

const bodyLength = (body: string[]) => body.reduce((n, l) => n + l.length + 1, 0);

/** The first lines of `body` that fit in `max` characters. */
function cut(body: string[], max: number): string[] {
  let used = 0;
  const over = body.findIndex((l) => (used += l.length + 1) > max);
  return over < 0 ? body : body.slice(0, over);
}

export interface CommentOptions {
  /** Where the previews are in full (the workflow's artifact). */
  artifactUrl?: string;
  limit?: number;
}

/** The comment on a pull request; a tree undefined when it could not be previewed at all. */
export function buildComment(base: Previews | undefined, head: Previews | undefined, options: CommentOptions = {}): string {
  const limit = options.limit ?? LIMIT;
  const stacks = [...new Set([...(head?.keys() ?? []), ...(base?.keys() ?? [])])].sort();
  const sections = stacks.flatMap((s) => sectionOf(s, base?.get(s), head?.get(s)) ?? []);
  const unchanged = stacks.filter((s) => !sections.some((x) => x.stack === s));
  const artifact = options.artifactUrl ? `[the workflow's artifact](${options.artifactUrl})` : "the workflow's artifact";
  const missing = (tree: Previews | undefined, name: string) => (tree ? [] : [`⚠️ **The ${name} could not be previewed** (the workflow's log says why).`, ""]);
  const top = [
    MARKER,
    "### `pulumi preview`, base → head",
    "",
    sections.length ? `${sections.length} of ${stacks.length} stacks differ.` : `No stack differs (${stacks.length} previewed).`,
    "",
    ...missing(base, "base"),
    ...missing(head, "head"),
  ].join("\n");
  const bottom = [
    ...(unchanged.length ? [`**No changes**: ${unchanged.join(", ")}`, ""] : []),
    `<sub>Each plan: \`pulumi preview --json\` on a fresh state (so every resource is a create), rendered in URN order by runner/preview.ts for both trees. In full: ${artifact} (base/, head/).</sub>`,
    "",
  ].join("\n");
  const pointer = (dropped: number) => `✂️ ${dropped} more lines cut to keep the comment under GitHub's limit: the previews are in full in ${artifact}.`;
  const whole = [top, ...sections.map((s) => renderSection(s)), bottom].join("\n");
  if (whole.length <= limit) return whole;
  // Every section's frame, with the longest pointer it could get; the rest is for the bodies.
  const frames = sections.map((s) => renderSection(s, pointer(s.body.length)).length - bodyLength(s.body) + 1);
  const max = cap(sections.map((s) => bodyLength(s.body)), limit - top.length - bottom.length - 1 - frames.reduce((a, b) => a + b, 0));
  const shown = sections.map((s) => {
    if (bodyLength(s.body) <= max) return renderSection(s);
    const body = cut(s.body, max);
    return renderSection({ ...s, body }, pointer(s.body.length - body.length));
  });
  return [top, ...shown, bottom].join("\n");
}
