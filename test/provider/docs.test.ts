// docs/resources.md against the code: each kind's section has a table row
// for every input of its zod schema (host, owner and providerVersion are
// every kind's, described once at the top) and no other, and a row says
// "replaces" exactly when the kind replaces on that input.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { flowSpecSchema } from "../../provider/flow.ts";
import { inputKeysOf } from "../../provider/resource.ts";
import { providers } from "../../provider/runtime.ts";
import { REPO } from "../../runner/stacks.ts";

const COMMON = ["host", "owner", "providerVersion"];
const doc = readFileSync(join(REPO, "docs/resources.md"), "utf8");

/** The section whose heading names `kind` (before the " — "). */
function section(kind: string): string {
  const found = doc.split(/^## /m).find((s) => s.split(" — ")[0].split(/,? | and /).includes(kind));
  if (!found) throw new Error(`docs/resources.md has no section for ${kind}`);
  return found;
}

/** Each input a table row of the section documents, with its row's "change" cell. */
function documented(text: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of text.split("\n").filter((l) => l.startsWith("| `"))) {
    const [inputs, , change] = line.split(" | ");
    for (const [, key] of inputs.matchAll(/`(\w+)`/g)) rows.set(key, change);
  }
  return rows;
}

const kinds = Object.entries(providers).filter(([kind]) => kind !== "StackInstance") as [string, { fields: { inputs: string[]; replaceOn: readonly string[] } }][];

test.each(kinds)("%s: docs/resources.md documents every input and its replace rule", (kind, { fields }) => {
  const rows = documented(section(kind));
  // A Flow is a FlowSet of one: the FlowSet section has its fields too.
  const flowOnly = kind === "FlowSet" ? inputKeysOf(flowSpecSchema) : [];
  expect([...rows.keys()].filter((k) => !flowOnly.includes(k)).sort()).toEqual(fields.inputs.filter((k) => !COMMON.includes(k)).sort());
  for (const [key, change] of rows) {
    if (!flowOnly.includes(key)) expect(`${key}: ${change.startsWith("replaces") ? "replaces" : "in place"}`).toBe(`${key}: ${fields.replaceOn.includes(key) ? "replaces" : "in place"}`);
  }
  expect(fields.replaceOn).toContain("host");
});
