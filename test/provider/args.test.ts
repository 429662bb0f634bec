// provider/args.ts, the resources' args as a program sees them, is written
// from the kinds' zod schemas (scripts/provider-args.ts): it must be what the
// schemas give today.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { argsSource } from "../../scripts/provider-args.ts";

test("provider/args.ts is what the schemas give (else: npm run provider-args)", () => {
  expect(readFileSync(join(import.meta.dirname, "../../provider/args.ts"), "utf8")).toBe(argsSource());
});
