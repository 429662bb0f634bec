// @ovs-offload-lab/provider as a user gets it: packed with `npm pack`,
// installed from the tarball into two fresh projects — CommonJS run by
// ts-node, as `pulumi new typescript` makes it, and ESM run by Node's type
// stripping — each type-checked without skipLibCheck, then a Bridge and a
// FlowSet on a lab host through the real CLI: preview, up, destroy.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { exec } from "../../provider/host.ts";
import { PROVIDER_VERSION } from "../../provider/resource.ts";
import { REPO } from "../../runner/stacks.ts";
import { testLabName } from "../support/machine.ts";

const execFileAsync = promisify(execFile);
/** Runs a command; a failure carries what the command printed. */
async function run(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ stdout: string }> {
  try {
    return await execFileAsync(cmd, args, { ...options, maxBuffer: 64 << 20 });
  } catch (err) {
    const { stdout = "", stderr = "" } = err as { stdout?: string; stderr?: string };
    throw new Error(`\`${[cmd, ...args].join(" ")}\` failed in ${options.cwd}:\n${stdout}${stderr}`, { cause: err });
  }
}
const lab = labLayout(testLabName(), 1);
const host = lab.hosts[0].spec;
let dir: string;
let tarball: string;

/** The environment of a user's shell: the toolchain on PATH, but nothing that selects the provider's sources. */
function userEnv(project: string): NodeJS.ProcessEnv {
  const nodeOptions = (process.env.NODE_OPTIONS ?? "").split(" ").filter((o) => o && !o.startsWith("--conditions=ovs-offload-lab-source"));
  return { ...process.env, NODE_OPTIONS: nodeOptions.join(" "), PULUMI_BACKEND_URL: `file://${join(project, "state")}`, PULUMI_CONFIG_PASSPHRASE: "package-test" };
}

const PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import { Bridge, FlowSet, type HostSpec } from "@ovs-offload-lab/provider";

const host = new pulumi.Config().requireObject<HostSpec>("host");
const bridge = new Bridge("br", { host, name: "pkgbr", datapathType: "netdev", failMode: "secure" });
const flows = new FlowSet("flows", { host, bridge: bridge.name, flows: [{ priority: 10, match: "in_port=1", actions: "drop" }] });
export const installed = flows.installedCount;
`;

/** What \`pulumi new typescript\` makes (CommonJS, ts-node), and an ESM project run by Node's type stripping. */
const FLAVOURS = {
  commonjs: {
    packageJson: { name: "pkg-cjs", main: "index.ts", devDependencies: { "@types/node": "^22", typescript: "^5.0.0" } },
    tsconfig: { compilerOptions: { strict: true, outDir: "bin", target: "es2020", module: "commonjs", moduleResolution: "node", sourceMap: true, experimentalDecorators: true, pretty: true, noFallthroughCasesInSwitch: true, noImplicitReturns: true, forceConsistentCasingInFileNames: true }, files: ["index.ts"] },
    runtime: "runtime: nodejs",
  },
  esm: {
    packageJson: { name: "pkg-esm", type: "module", main: "index.ts", devDependencies: { "@types/node": "^24", typescript: "^5.9.0" } },
    tsconfig: { compilerOptions: { strict: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", noEmit: true, allowImportingTsExtensions: true }, files: ["index.ts"] },
    runtime: "runtime:\n  name: nodejs\n  options:\n    typescript: false",
  },
} as const;

beforeAll(async () => {
  await labUp(lab, () => {});
  dir = await mkdtemp(join(tmpdir(), "ool-package-"));
  await run("npm", ["pack", "./provider", "--pack-destination", dir, "--loglevel=error"], { cwd: REPO });
  tarball = join(dir, (await readdir(dir)).find((f) => f.endsWith(".tgz"))!);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await labDown(lab, () => {});
});

test("the tarball holds the build and its declarations, not the sources, at the provider's version", async () => {
  const { stdout } = await run("tar", ["-tzf", tarball], { cwd: dir });
  const files = stdout.split("\n").filter(Boolean);
  expect(files).toContain("package/dist/index.js");
  expect(files).toContain("package/dist/index.d.ts");
  expect(files).toContain("package/dist/runtime.js");
  expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
  expect(tarball).toMatch(new RegExp(`ovs-offload-lab-provider-${PROVIDER_VERSION.replace(/\./g, "\\.")}\\.tgz$`));
});

describe.each(Object.entries(FLAVOURS))("a fresh %s project", (flavour, f) => {
  let project: string;
  const inProject = (cmd: string, args: string[]) => run(cmd, args, { cwd: project, env: userEnv(project) });
  const pulumi = (...args: string[]) => inProject("pulumi", [...args, "--non-interactive"]);

  beforeAll(async () => {
    project = join(dir, flavour);
    await mkdir(join(project, "state"), { recursive: true });
    const packageJson = { ...f.packageJson, dependencies: { "@pulumi/pulumi": "3.260.0", "@ovs-offload-lab/provider": `file:${tarball}` } };
    await writeFile(join(project, "package.json"), JSON.stringify(packageJson, null, 2));
    await writeFile(join(project, "tsconfig.json"), JSON.stringify(f.tsconfig, null, 2));
    await writeFile(join(project, "Pulumi.yaml"), `name: pkg-${flavour}\n${f.runtime}\n`);
    await writeFile(join(project, "index.ts"), PROGRAM);
    await inProject("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"]);
    await pulumi("stack", "init", "test");
    await pulumi("config", "set", "host", JSON.stringify(host));
  });

  test("its public types compile with the project's own TypeScript, skipLibCheck off", async () => {
    await inProject("npx", ["tsc", "--noEmit", "-p", "."]);
  });

  test("preview, up and destroy through the real CLI make and remove the bridge and its flow on the lab host", async () => {
    expect((await pulumi("preview")).stdout).toMatch(/\+ 4 to create/);
    await pulumi("up", "--yes", "--skip-preview");
    expect(JSON.parse((await pulumi("stack", "output", "--json")).stdout)).toEqual({ installed: 1 });
    expect((await exec(host, ["ovs-ofctl", "-O", "OpenFlow14", "dump-flows", "pkgbr"])).stdout).toContain("priority=10,in_port=1 actions=drop");
    await pulumi("destroy", "--yes", "--skip-preview");
    await expect(exec(host, ["ovs-vsctl", "br-exists", "pkgbr"])).rejects.toThrow(/exited 2/);
  });
});
