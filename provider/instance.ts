// StackInstance: what makes a stack's owners its own. Project and stack
// names are the same in every checkout of a project (every clone of this
// repository has a `meter-offload`); a random id drawn at the stack's first
// up and kept in its state is not. Every resource's owner ends with it, and
// it stays the same across ups, so a create that failed half-way is taken
// over by the next up, never refused as another stack's.
import { randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { DynamicResource } from "./loader.ts";
import { INSTANCE_PATTERN } from "./schema.ts";

export interface StackInstanceInputs {
  /** 16 random hex digits, drawn in the first check and kept ever after. */
  instance: string;
}

const instanceOf = (inputs: Record<string, unknown> | undefined): string | undefined =>
  typeof inputs?.instance === "string" && INSTANCE_PATTERN.test(inputs.instance) ? inputs.instance : undefined;

export const stackInstanceProvider = {
  // Drawn in check, so that the inputs the engine records (a pending create
  // included, see runner/recover.ts) already hold it.
  async check(olds: Record<string, unknown>, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult> {
    return { inputs: { instance: instanceOf(olds) ?? instanceOf(news) ?? randomBytes(8).toString("hex") } };
  },
  async diff(): Promise<pulumi.dynamic.DiffResult> {
    return { changes: false };
  },
  async create(inputs: StackInstanceInputs): Promise<pulumi.dynamic.CreateResult> {
    return { id: inputs.instance, outs: { instance: inputs.instance } };
  },
  async read(id: string, props: StackInstanceInputs): Promise<pulumi.dynamic.ReadResult> {
    return { id, props };
  },
  async update(_id: string, olds: StackInstanceInputs): Promise<pulumi.dynamic.UpdateResult> {
    return { outs: olds };
  },
  // Nothing on any host: the owners it named go with their resources.
  async delete(): Promise<void> {},
  idOf: (inputs: StackInstanceInputs) => inputs.instance,
} satisfies Required<Omit<pulumi.dynamic.ResourceProvider, "configure">> & { idOf(inputs: StackInstanceInputs): string };

/** The stack's instance id, for owners; one resource per program (see stackInstance). */
export class StackInstance extends DynamicResource {
  declare readonly instance: pulumi.Output<string>;

  constructor(name: string, opts?: pulumi.CustomResourceOptions) {
    super("StackInstance", "StackInstance", name, { instance: undefined }, opts);
  }
}

let current: StackInstance | undefined;

/**
 * The program's StackInstance, made with the first resource that needs an
 * owner. A Pulumi program runs once per process, so one per process is one
 * per stack.
 */
export function stackInstance(): StackInstance {
  current ??= new StackInstance("ovs-offload-lab-instance");
  return current;
}
