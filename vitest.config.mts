import { defineConfig } from "vitest/config";

// The suite in tiers, each started when the one before has ended:
//   unit    host-free (parsers, schemas, diff, planning, hostile input): all files at once
//   engine  the Pulumi CLI with no lab (*.engine.test.ts), and the lab's own tests,
//           which compare the whole machine before and after, so no other lab may
//           come or go meanwhile
//   lab     the lab and the engine for real (*.lab.test.ts): two streams side by side,
//           one file at a time each. Every file has a lab of its own (testLabName);
//           the two that start sshd share a stream, since sshd wants /run/sshd.
// `vitest run --project <tier>` runs one tier.
const LAB_STREAM_B = [
  "test/stacks/scenarios-offload.lab.test.ts",
  "test/provider/ssh.lab.test.ts",
  "test/provider/secrets.lab.test.ts",
  "test/provider/concurrency.lab.test.ts",
  "test/provider/drift.lab.test.ts",
  "test/provider/netns.lab.test.ts",
  "test/provider/vf-binding.lab.test.ts",
];
const MACHINE_WIDE = ["test/lab/lab.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 180_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts"], exclude: ["test/**/*.{engine,lab}.test.ts", ...MACHINE_WIDE], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: "engine", include: ["test/**/*.engine.test.ts", ...MACHINE_WIDE], sequence: { groupOrder: 1 } } },
      { extends: true, test: { name: "lab-a", include: ["test/**/*.lab.test.ts"], exclude: LAB_STREAM_B, fileParallelism: false, sequence: { groupOrder: 2 } } },
      { extends: true, test: { name: "lab-b", include: LAB_STREAM_B, fileParallelism: false, sequence: { groupOrder: 2 } } },
    ],
  },
});
