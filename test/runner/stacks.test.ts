// Which stacks a command acts on and what each builds: the ten by name, a
// stack of your own by its config, a clear refusal when neither says.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { openStack, scenarioOf, STACK_NAMES, stacksNamed } from "../../runner/stacks.ts";

const NS = "ovs-offload-lab";
const refusal = (f: () => unknown) => {
  try {
    f();
    return "not refused";
  } catch (e) {
    return (e as Error).message;
  }
};

describe("scenarioOf", () => {
  test.each([
    ["one of the ten, by its name", "meter-offload", {}, { scenario: "meter", variant: "offload" }],
    ["one of the ten, its name first", "gateway-firewall-classic", { scenario: "meter", variant: "offload" }, { scenario: "gateway-firewall", variant: "classic" }],
    ["your own, by its config", "meter-offload-rack2", { scenario: "meter", variant: "offload", hosts: {} }, { scenario: "meter", variant: "offload" }],
    ["your own, whatever its name", "rack2", { scenario: "virtio-relay", variant: "classic" }, { scenario: "virtio-relay", variant: "classic" }],
  ])("%s", (_, name, config, expected) => {
    expect(scenarioOf(name, config, NS)).toEqual(expected);
  });

  test.each([
    ["neither the name nor the config", "rack2", {}, [`${NS}:scenario: not set`, `${NS}:variant: not set`]],
    ["a name like a built-in one but not one", "meter-offload-rack2", { lab: "ool" }, [`${NS}:scenario: not set`, `${NS}:variant: not set`]],
    ["the variant missing", "rack2", { scenario: "meter" }, [`${NS}:variant: not set`]],
    ["a scenario the project does not have", "rack2", { scenario: "metre", variant: "offload" }, [`${NS}:scenario: Invalid option: expected one of "internal-vs-netvf"|`]],
  ])("refused, saying what to set: %s", (_, name, config, problems) => {
    const message = refusal(() => scenarioOf(name, config, NS));
    expect(message).toMatch(new RegExp(`^stack ${name} is not one of the project's ten, so its config must say what it builds:`));
    for (const p of problems) expect(message).toContain(`\n  ${p}`);
    expect(message.match(/not set|Invalid option/g)).toHaveLength(problems.length);
    expect(message).toContain(`pulumi config set --stack ${name} scenario <internal-vs-netvf|meter|gateway-forward|gateway-firewall|virtio-relay>`);
  });
});

describe("stacksNamed", () => {
  test("any stack of the project for every command, the ten for the demo", () => {
    expect(stacksNamed({ stack: "meter-offload-rack2" })).toEqual(["meter-offload-rack2"]);
    expect(stacksNamed({ stack: "meter-offload", demo: true })).toEqual(["meter-offload"]);
    expect(() => stacksNamed({ stack: "meter-offload-rack2", demo: true })).toThrow(/^demo runs the project's ten stacks on its own lab, and meter-offload-rack2 is not one of them/);
  });
  test("a scenario's two built-in stacks, or all ten", () => {
    expect(stacksNamed({ scenario: "meter" })).toEqual(["meter-classic", "meter-offload"]);
    expect(stacksNamed({})).toEqual(STACK_NAMES);
    expect(STACK_NAMES).toHaveLength(10);
    expect(() => stacksNamed({ scenario: "metre" })).toThrow(/unknown scenario "metre"/);
  });
});

test("a name with no config file is refused before anything is made, with the nearest of the ten", async () => {
  const dir = await mkdtemp(join(tmpdir(), "ool-project-"));
  try {
    // No Pulumi.yaml here: had openStack gone as far as the CLI, it would fail otherwise.
    await expect(openStack("meter-ofload", { workDir: dir })).rejects.toThrow(
      /^no stack meter-ofload in this project: it is not one of the ten \(did you mean meter-offload\?\) and has no config file stacks\/Pulumi\.meter-ofload\.yaml/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
