import { defineConfig } from "vitest/config";

// The suite in tiers, each started when the one before has ended:
//   unit    host-free (parsers, schemas, diff, planning, hostile input): files side by side
//   engine  the Pulumi CLI with no lab (*.engine.test.ts), and the lab's own tests, which
//           compare the whole machine before and after, so no other lab may come or go
//   lab     the lab, OVS and the engine for real (*.lab.test.ts): one file at a time, as
//           the files share the machine's sshd run directory and its two cores
// `make test TIER=<tier>` (vitest run --project <tier>) runs one tier.
const MACHINE_WIDE = ["test/lab/lab.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 180_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: ["test/**/*.{engine,lab}.test.ts", ...MACHINE_WIDE], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: "engine", include: ["test/**/*.engine.test.ts", ...MACHINE_WIDE], sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: "lab", include: ["test/**/*.lab.test.ts"], fileParallelism: false, sequence: { groupOrder: 2 } } },
    ],
  },
});
