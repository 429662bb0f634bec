// `pulumi preview --json` as text that depends on the plan alone, so that the
// previews of two trees can be compared line by line. `pulumi preview --diff`
// lists resources in the order the engine reached them (six previews of one
// unchanged stack gave six texts); here steps go in URN order, keys sorted, a
// create with its inputs, an update or replace with the inputs that change,
// and each element of a list (a flow, a meter band) on its own line, so a
// change shows as exactly the elements that change. Pure: no Pulumi, no I/O.
import { createHash } from "node:crypto";

export interface PreviewState {
  type: string;
  inputs?: Record<string, unknown>;
}

/** One step of `pulumi preview --json`: the parts rendered. */
export interface PreviewStep {
  op: string;
  urn: string;
  oldState?: PreviewState;
  newState?: PreviewState;
  replaceReasons?: string[];
}

export interface PreviewDiagnostic {
  message: string;
  severity: string;
  urn?: string;
}

/** What `pulumi preview --json` prints, on success and on failure alike. */
export interface PreviewJson {
  steps?: PreviewStep[];
  diagnostics?: PreviewDiagnostic[];
  changeSummary?: Record<string, number>;
}

/** Pulumi's stand-in, during preview, for a value known only once the resource is made. */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** The key that marks a secret in Pulumi's property values. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const INDENT = "    ";

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isSecret = (v: unknown) => v === "[secret]" || (isRecord(v) && SECRET_SIG in v);

/** A value on one line: keys sorted; secrets, values not known yet and absent ones named. */
function show(value: unknown): string {
  if (value === undefined) return "(none)";
  if (value === UNKNOWN) return "[unknown]";
  if (isSecret(value)) return "[secret]";
  if (Array.isArray(value)) return `[${value.map(show).join(",")}]`;
  if (isRecord(value)) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${show(value[k])}`).join(",")}}`;
  return JSON.stringify(value);
}

/**
 * The inputs as shown: the serialised dynamic provider (a few kB of code in
 * every resource) by its digest, which still tells when it changes.
 */
function shownInputs(inputs: Record<string, unknown> = {}): Record<string, unknown> {
  const code = inputs.__provider;
  if (typeof code !== "string") return inputs;
  return { ...inputs, __provider: `sha256:${createHash("sha256").update(code).digest("hex").slice(0, 16)}` };
}

function inputLines(inputs: Record<string, unknown>): string[] {
  return Object.keys(inputs).sort().flatMap((k) => {
    const v = inputs[k];
    return Array.isArray(v) && v.length > 0 ? [`${k}:`, ...v.map((i) => `  - ${show(i)}`)] : [`${k}: ${show(v)}`];
  });
}

/** Elements of `from` not matched by one of `to` (as multisets), in `from`'s order. */
function without(from: unknown[], to: unknown[]): unknown[] {
  const left = to.map(show);
  return from.filter((item) => {
    const i = left.indexOf(show(item));
    if (i < 0) return true;
    left.splice(i, 1);
    return false;
  });
}

/** What changes at `path`: per key of an object, per element of a list, else old → new. */
function changeLines(path: string, old: unknown, now: unknown): string[] {
  if (show(old) === show(now)) return [];
  if (isRecord(old) && isRecord(now) && !isSecret(old) && !isSecret(now)) {
    const keys = [...new Set([...Object.keys(old), ...Object.keys(now)])].sort();
    return keys.flatMap((k) => changeLines(path ? `${path}.${k}` : k, old[k], now[k]));
  }
  if (Array.isArray(old) && Array.isArray(now)) {
    const removed = without(old, now).map((i) => `  - ${show(i)}`);
    const added = without(now, old).map((i) => `  + ${show(i)}`);
    return [`${path}:`, ...(removed.length + added.length ? [...removed, ...added] : ["  (the same elements, in another order)"])];
  }
  return [`${path}: ${show(old)} → ${show(now)}`];
}

/** `pulumi-nodejs:dynamic/ovs-offload-lab:FlowSet` → `FlowSet`; other types as they are. */
function kindOf(urn: string): string {
  const type = urn.split("::")[2]?.split("$").at(-1) ?? urn;
  return type.replace(/^pulumi-nodejs:dynamic\/[^:]*:/, "");
}

function stepLines(step: PreviewStep): string[] {
  const reasons = step.replaceReasons?.length ? ` (replaces on ${[...step.replaceReasons].sort().join(", ")})` : "";
  const header = `${step.op} ${kindOf(step.urn)} ${step.urn.split("::").at(-1)}${reasons}`;
  const olds = shownInputs(step.oldState?.inputs);
  const news = shownInputs(step.newState?.inputs);
  let body: string[] = [];
  if (step.op === "create" || step.op === "import") body = inputLines(news);
  else if (step.op === "update" || step.op === "replace" || step.op === "create-replacement") {
    body = changeLines("", olds, news);
    if (body.length === 0) body = ["(no input shown changes: a secret does, or the object as the provider found it)"];
  }
  return [header, ...body.map((l) => INDENT + l)];
}

/**
 * The values that differ between two previews of one plan, as placeholders:
 * the project's directory (a command's `dir`; a pull request's base and head
 * are two checkouts) and the stack's instance id (provider/instance.ts), drawn
 * at random in a create's check and ending every owner.
 */
function masked(steps: PreviewStep[], project: string | undefined): PreviewStep[] {
  const instance = steps
    .filter((s) => kindOf(s.urn) === "StackInstance")
    .map((s) => s.newState?.inputs?.instance ?? s.oldState?.inputs?.instance)
    .find((i): i is string => typeof i === "string" && /^[0-9a-f]{16}$/.test(i));
  let text = JSON.stringify(steps);
  if (instance) text = text.replaceAll(instance, "<instance>");
  // The directory itself or a path under it, never a longer name that starts the same.
  if (project) for (const end of ['"', "/"]) text = text.replaceAll(`${project}${end}`, `<project>${end}`);
  return JSON.parse(text) as PreviewStep[];
}

const byUrn = (a: PreviewStep, b: PreviewStep) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0);

/**
 * The plan as text: the change summary, then every step but the unchanged, in
 * URN order. `project`: the project's directory, shown as <project>.
 */
export function renderPreview(preview: PreviewJson, project?: string): string {
  const steps = masked(preview.steps ?? [], project).filter((s) => s.op !== "same").sort(byUrn);
  const summary = Object.entries(preview.changeSummary ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).map(([op, n]) => `${op} ${n}`);
  return [`changes: ${summary.join(", ") || "none"}`, ...steps.flatMap(stepLines)].join("\n") + "\n";
}

/** The errors a failed preview reported, each with its resource's name, without terminal colours (Node's stack traces have them). */
export function previewErrors(preview: PreviewJson): string[] {
  return (preview.diagnostics ?? [])
    .filter((d) => d.severity === "error")
    .map((d) => `${d.urn ? `${d.urn.split("::").at(-1)}: ` : ""}${d.message.replace(/\x1b\[[0-9;]*m/g, "").trim()}`);
}
