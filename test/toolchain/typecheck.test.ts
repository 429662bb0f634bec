// The whole project type-checks (tsconfig.json: provider, lab, stacks, runner,
// vm, bench, test): Node runs the TypeScript by stripping its types, so
// nothing else would notice a type error.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import { REPO } from "../../runner/stacks.ts";

test("tsc --noEmit finds no error", async () => {
  const result = await promisify(execFile)(join(REPO, "node_modules/.bin/tsc"), ["--noEmit", "-p", REPO], { cwd: REPO }).then(
    () => "",
    (err: { stdout?: string }) => err.stdout ?? String(err),
  );
  expect(result).toBe("");
});
