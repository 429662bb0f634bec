// The scenario stacks' resource tree (stacks/parts.ts: host → br0 → ports,
// meters, flows; host → endpoint → namespace, VF, link) came after stacks
// were made flat, every resource under the stack itself. Such a stack, made
// here by flattening a real state, keeps every resource through the aliases:
// preview and up only add the tree's nodes, nothing is replaced.
import { afterAll, beforeAll, expect, test } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { operate } from "../../runner/stacks.ts";
import { labSnapshot, testLabName } from "../support/machine.ts";
import { projectCopy, type ProjectCopy } from "../support/project.ts";

const lab = labLayout(testLabName(), 2);
let project: ProjectCopy;
let before: unknown;

interface StateResource {
  urn: string;
  type: string;
  parent?: string;
  dependencies?: string[];
  propertyDependencies?: Record<string, string[]>;
}

/** The state as a stack made before the tree has it: no tree nodes, every resource's parent the stack. */
function flatten(resources: StateResource[]): StateResource[] {
  const stack = resources.find((r) => r.type === "pulumi:pulumi:Stack")!.urn;
  const nodes = new Set(resources.filter((r) => r.type.startsWith("ovs-offload-lab:stack:")).map((r) => r.urn));
  // urn:pulumi:<stack>::<project>::<parent types>$<type>::<name> → …::<type>::<name>
  const flat = (urn: string) => {
    const [head, project, type, ...name] = urn.split("::");
    return [head, project, type.split("$").at(-1), ...name].join("::");
  };
  return resources
    .filter((r) => !nodes.has(r.urn))
    .map((r) => ({
      ...r,
      urn: flat(r.urn),
      ...(r.parent ? { parent: nodes.has(r.parent) || r.type !== "pulumi:pulumi:Stack" ? stack : r.parent } : {}),
      ...(r.dependencies ? { dependencies: r.dependencies.filter((d) => !nodes.has(d)).map(flat) } : {}),
      ...(r.propertyDependencies ? { propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, ds]) => [k, ds.map(flat)])) } : {}),
    }));
}

beforeAll(async () => {
  await labUp(lab, () => {});
  project = await projectCopy();
  before = await labSnapshot(lab);
});
afterAll(async () => {
  await project?.remove();
  await labDown(lab, () => {});
});

test("a stack made before the resource tree keeps every resource: only the tree's nodes are added", async () => {
  const stack = await project.stack("meter-offload", lab.name);
  try {
    await operate(stack, "up");
    const exported = await stack.exportStack();
    const resources = exported.deployment.resources as StateResource[];
    const nodes = resources.filter((r) => r.type.startsWith("ovs-offload-lab:stack:")).length;
    expect(nodes).toBe(4); // host1, host2, and an endpoint on each
    exported.deployment.resources = flatten(resources);
    await stack.importStack(exported);
    expect((await stack.exportStack()).deployment.resources.every((r: StateResource) => !r.urn.includes("$"))).toBe(true);

    // Every resource but the nodes and Pulumi's default provider (not counted in the summaries) is the same.
    const same = resources.filter((r) => !r.type.startsWith("pulumi:providers:")).length - nodes;
    expect((await stack.preview()).changeSummary).toEqual({ create: nodes, same });
    expect((await operate(stack, "up")).summary.resourceChanges).toEqual({ create: nodes, same });
  } finally {
    await operate(stack, "destroy");
  }
  expect(await labSnapshot(lab)).toEqual(before);
});
