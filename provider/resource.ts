// From Pulumi's dynamic-provider lifecycle to a resource kind's own steps.
// A kind's zod schema is the single source of its fields: check validates
// with it, diff compares the keys of its shape, a program's args and the
// provider's inputs are its input and output types (ArgsOf, z.output); the
// kind adds which fields force replacement, and its create, read, update and
// delete. Also the identity every resource carries: an owner string (in OVS
// external_ids) and a cookie (on flows) derived from it, and the one base
// class of the resources.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { stackInstance } from "./instance.ts";
import { checkInputs, OWNER_PATTERN, UNKNOWN } from "./schema.ts";

/**
 * Written into every resource's inputs: the version that made or last changed
 * it. A new version alone is no change (the loader in the state runs the code
 * installed now), except over state from before MARKED_SINCE, which an update
 * brings up to date (diff).
 */
export const PROVIDER_VERSION = "0.3.0";

/** Resources made before this version carry no mark where one is new (Netns). */
export const MARKED_SINCE = "0.2.0";

/** Whether state written by provider `version` predates `since` (numeric major.minor.patch). */
export function madeBefore(version: string, since: string): boolean {
  const parts = (v: string) => v.split("-")[0].split(".").map(Number);
  const [a, b] = [parts(version), parts(since)];
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] ?? 0) < (b[i] ?? 0);
  return false;
}

/**
 * `<project>/<stack>/<Kind>/<name>/<stack instance>`: names alone are the
 * same in every checkout and backend that uses the shipped stack names; the
 * stack's instance (provider/instance.ts) keeps those stacks from owning each
 * other's objects.
 */
export function ownerOf(kind: string, name: string): pulumi.Output<string> {
  return stackInstance().instance.apply((instance) => `${pulumi.getProject()}/${pulumi.getStack()}/${kind}/${name}/${instance}`);
}

/**
 * The owner a resource keeps for life: the one in its state, else the one
 * its class gives. Owners made before 0.2.0 (no instance) are kept as they are.
 */
export function settleOwner(old: unknown, requested: unknown): unknown {
  return typeof old === "string" && OWNER_PATTERN.test(old) ? old : requested;
}

/** Create found the object already there, made by someone else: refuse rather than take it over. */
export function ownedElsewhere(what: string, name: string, host: string, owner: string | undefined): Error {
  const what_ = `${what} ${name} already exists on ${host}`;
  return new Error(
    owner
      ? `${what_} and is owned by ${owner}; remove it from that stack, or give this resource another name, then run again`
      : `${what_} and is not made by ovs-offload-lab; remove it there, give this resource another name, or set adopt: true to take it over, then run again`,
  );
}

/**
 * Whether create may make `found` (the owner its mark names, undefined for
 * none) this resource's: its own mark (a create cut short), or no mark and
 * `adopt` set. Another stack's object is never taken. Throws the refusal.
 */
export function claim(what: string, name: string, host: string, found: string | undefined, r: { owner: string; adopt: boolean }): void {
  if (found !== r.owner && (found !== undefined || !r.adopt)) throw ownedElsewhere(what, name, host, found);
}

/** Inputs every resource has besides its own. */
export interface Identity {
  /** `<project>/<stack>/<Kind>/<name>/<stack instance>` (ownerOf, settleOwner): who owns what this resource makes. */
  owner: string;
  providerVersion: string;
}

/** A 60-bit OpenFlow cookie for an owner, as a decimal string. */
export function cookieFor(owner: string): string {
  return BigInt(`0x${createHash("sha256").update(owner).digest("hex").slice(0, 15)}`).toString();
}

/** The fields of a kind's schema (an object, perhaps refined or transformed). */
function shapeOf(schema: z.ZodType): Record<string, z.ZodType> {
  const object = schema instanceof z.ZodPipe ? schema.in : schema;
  if (!(object instanceof z.ZodObject)) throw new Error("a kind's schema must be a zod object");
  return object.shape;
}

/** The inputs diff compares: the schema's fields. */
export function inputKeysOf(schema: z.ZodType): string[] {
  return Object.keys(shapeOf(schema));
}

/**
 * The defaults of the fields that have one: what state written before a
 * field existed holds for it, so that adding a field changes no resource.
 */
function defaultsOf(schema: z.ZodType): Record<string, unknown> {
  return Object.fromEntries(Object.entries(shapeOf(schema)).flatMap(([k, f]) => (f instanceof z.ZodDefault ? [[k, f.def.defaultValue]] : [])));
}

export interface Lifecycle<In extends Identity, Out extends In> {
  /** The single source of the kind's fields, their types and the messages bad ones get. */
  schema: z.ZodType<In>;
  /** Inputs whose change needs a new object (OVS cannot change them in place). */
  replaceOn: readonly (keyof In & string)[];
  /** Fixed names or ids: the old object must go before the new one can be made. */
  deleteBeforeReplace: boolean;
  /**
   * The object's id, from its inputs alone: what create returns, and what a
   * create cut short by a killed engine is imported as (runner/recover.ts).
   */
  idOf(inputs: In): string;
  create(inputs: In): Promise<Out>;
  /** The object as it is now, or undefined when the host answered that it is gone. */
  read(id: string, props: Out): Promise<Out | undefined>;
  update(id: string, olds: Out, news: In): Promise<Out>;
  delete(id: string, props: Out): Promise<void>;
  /** Differences that are not input changes (e.g. flows that drifted); they cause an update. */
  drift?(olds: Out): string[];
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

function hasUndefined(value: unknown): boolean {
  if (value === undefined) return true;
  if (value === null || typeof value !== "object") return false;
  if (Array.isArray(value)) return value.some(hasUndefined);
  for (const k in value) if (hasUndefined((value as Record<string, unknown>)[k])) return true;
  return false;
}

/**
 * Outputs as Pulumi can carry them: no undefined members. Only an output
 * that has one is copied, so a large one (a FlowSet's flows) costs a scan.
 */
export function plain<T>(value: T): T {
  return hasUndefined(value) ? (JSON.parse(JSON.stringify(value)) as T) : value;
}

function containsUnknown(value: unknown): boolean {
  if (value === UNKNOWN) return true;
  if (value && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/** The input keys that differ between the old outputs and the new inputs. */
export function changedKeys(inputKeys: readonly string[], olds: Record<string, unknown>, news: Record<string, unknown>): string[] {
  return inputKeys.filter((k) => containsUnknown(news[k]) || stable(olds[k]) !== stable(news[k]));
}

export function dynamicProvider<In extends Identity, Out extends In>(kind: Lifecycle<In, Out>) {
  const inputKeys = inputKeysOf(kind.schema);
  const defaults = defaultsOf(kind.schema);
  return {
    async check(olds: Record<string, unknown>, news: Record<string, unknown>): Promise<pulumi.dynamic.CheckResult> {
      // __provider is the serialised provider itself; Pulumi puts it back.
      const { __provider: _, ...own } = news;
      const owned = { ...own, owner: settleOwner(olds?.owner, own.owner) };
      const { inputs, failures } = checkInputs(kind.schema, owned);
      // Inputs not known yet (preview) are checked again once they are.
      return failures.length ? { failures } : { inputs: inputs ?? { ...news, owner: owned.owner } };
    },
    async diff(_id: string, olds: Out, news: In): Promise<pulumi.dynamic.DiffResult> {
      const upgrade = typeof olds.providerVersion === "string" && madeBefore(olds.providerVersion, MARKED_SINCE);
      const changed = changedKeys(inputKeys, { ...defaults, ...olds }, { ...defaults, ...news }).filter((k) => k !== "providerVersion" || upgrade);
      const drifted = kind.drift?.(olds) ?? [];
      const replaces = changed.filter((k) => (kind.replaceOn as readonly string[]).includes(k));
      return {
        changes: changed.length + drifted.length > 0,
        replaces,
        deleteBeforeReplace: replaces.length > 0 && kind.deleteBeforeReplace,
      };
    },
    async create(inputs: In): Promise<pulumi.dynamic.CreateResult> {
      return { id: kind.idOf(inputs), outs: plain(await kind.create(inputs)) };
    },
    async read(id: string, props: Out): Promise<pulumi.dynamic.ReadResult> {
      const now = await kind.read(id, props);
      // An empty id tells the engine the object is gone (refresh drops it).
      return now ? { id, props: plain(now) } : { id: "" };
    },
    async update(id: string, olds: Out, news: In): Promise<pulumi.dynamic.UpdateResult> {
      return { outs: plain(await kind.update(id, olds, news)) };
    },
    delete: (id: string, props: Out) => kind.delete(id, props),
    idOf: (inputs: In) => kind.idOf(inputs),
    /** The kind's inputs and those that replace it, for its docs (test/provider/docs.test.ts). */
    fields: { inputs: inputKeys, replaceOn: kind.replaceOn as readonly string[] },
  } satisfies Required<Omit<pulumi.dynamic.ResourceProvider, "configure">> & { idOf(inputs: In): string; fields: object };
}

