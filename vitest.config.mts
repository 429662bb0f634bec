import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

// The suite in tiers, each started when the one before has ended:
//   unit    host-free (parsers, schemas, diff, planning, hostile input)
//   engine  the Pulumi CLI with no lab (*.engine.test.ts), and the lab's own tests, which
//           compare the whole machine before and after, so no other lab may come or go
//   lab     the lab, OVS and the engine for real (*.lab.test.ts): each file has a lab of
//           its own (testLabName) and its own sshd, so files run side by side
// Each tier runs WORKERS files at a time: on a machine of 2 cores vitest would run one
// (it leaves a core free), while these files mostly wait on other processes.
// `make test TIER=<tier>` (vitest run --project <tier>) runs one tier.
const MACHINE_WIDE = ["test/lab/lab.test.ts"];
const WORKERS = 2;

/**
 * The lab's longest files (each several minutes), started first so that none
 * is left running alone at the end: vitest orders files by the durations it
 * cached, which a fresh clone (CI) has none of, and else by size.
 */
const LONGEST = ["test/stacks/scenarios.lab.test.ts", "test/provider/ssh.lab.test.ts", "test/stacks/interrupt.lab.test.ts", "test/provider/flows.lab.test.ts"];

class LongestFirst extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONGEST.findIndex((name) => f.moduleId.endsWith(name));
      return i < 0 ? LONGEST.length : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    testTimeout: 180_000,
    hookTimeout: 180_000,
    sequence: { sequencer: LongestFirst },
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: ["test/**/*.{engine,lab}.test.ts", ...MACHINE_WIDE], maxWorkers: WORKERS, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: "engine", include: ["test/**/*.engine.test.ts", ...MACHINE_WIDE], maxWorkers: WORKERS, sequence: { groupOrder: 1 } } },
      // Two files at once on two cores: a test takes up to twice as long as alone.
      { extends: true, test: { name: "lab", include: ["test/**/*.lab.test.ts"], maxWorkers: WORKERS, testTimeout: 600_000, hookTimeout: 600_000, sequence: { groupOrder: 2 } } },
    ],
  },
});
