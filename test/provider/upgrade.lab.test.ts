// A provider code change reaches resources made by an older version: the
// state holds only the thin loader (provider/loader.ts), so even the delete
// of an old resource runs the code installed now; a new provider version
// alone changes nothing, and state from before 0.2.0 is brought up to date
// by a plain update, never a replacement.
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exec } from "../../provider/host.ts";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { hostSnapshot, testLabName } from "../support/machine.ts";
import { linkProvider, testStack, type TestStack } from "../support/stack.ts";

const REPO = join(import.meta.dirname, "../..");
const lab = labLayout(testLabName(), 2);
const host = lab.hosts[0].spec;

/** The last commit whose provider is 0.1.0: owners without an instance, namespaces unmarked. */
const PROVIDER_0_1_0 = "f04c6f7";

/** provider/ as it was at `commit`, from the repository's history. */
async function providerAt(root: string, commit: string): Promise<string> {
  const dir = join(root, `provider-${commit}`);
  await mkdir(dir);
  await new Promise<void>((resolve, reject) => {
    const archive = execFile("git", ["-C", REPO, "archive", commit, "provider"], { encoding: "buffer", maxBuffer: 64 << 20 }, (err) => err && reject(new Error(`provider ${commit} is not in this clone's history (a shallow clone?): ${err.message}`)));
    const untar = execFile("tar", ["-x", "--strip-components=1", "-C", dir], (err) => (err ? reject(err) : resolve()));
    archive.stdout!.pipe(untar.stdin!);
  });
  return dir;
}

/** A copy of provider/ with `edit` applied to one file; fails if the edit no longer applies. */
async function providerCopy(root: string, name: string, file?: string, edit?: (text: string) => string): Promise<string> {
  const dir = join(root, name);
  await cp(join(REPO, "provider"), dir, { recursive: true });
  if (file && edit) {
    const text = await readFile(join(dir, file), "utf8");
    const edited = edit(text);
    if (edited === text) throw new Error(`the test's edit of provider/${file} no longer applies`);
    await writeFile(join(dir, file), edited);
  }
  return dir;
}

describe("provider upgrades", () => {
  let root: string;
  let s: TestStack;
  const marker = () => join(root, "deleted-by-new-code");

  beforeAll(async () => {
    await labUp(lab, () => {});
    root = await mkdtemp(join(tmpdir(), "ool-upgrade-"));
    await symlink(join(REPO, "node_modules"), join(root, "node_modules")); // zod and @pulumi/pulumi for the copies
  });
  afterAll(async () => {
    await s?.dispose();
    await rm(root, { recursive: true, force: true });
    await labDown(lab, () => {});
  });

  test("a new provider version alone changes nothing, and the old stack's resources are deleted by the new code", async () => {
    const old = await providerCopy(root, "provider-old");
    const next = await providerCopy(root, "provider-new", "resource.ts", (t) =>
      t
        .replace(/PROVIDER_VERSION = "[^"]+"/, 'PROVIDER_VERSION = "99.0.0-test"')
        .replace(
          "    delete: (id: string, props: Out) => kind.delete(id, props),",
          '    delete: async (id: string, props: Out) => { (await import("node:fs")).appendFileSync(process.env.OOL_UPGRADE_MARKER!, `${id}\\n`); return kind.delete(id, props); },',
        ),
    );
    s = await testStack("resources", { provider: old, env: { OOL_UPGRADE_MARKER: marker() } });
    const spec = [
      { kind: "Bridge", name: "br", args: { host, name: "br0", datapathType: "netdev" } },
      { kind: "FlowSet", name: "fs", dependsOn: ["br"], args: { host, bridge: "br0", flows: [{ match: "in_port=1", actions: "drop" }] } },
    ];
    expect((await s.up(spec)).summary.resourceChanges).toEqual({ create: 4 });

    await linkProvider(s.dir, next);
    // A new version alone changes nothing: the loader in the state runs the new code anyway.
    expect((await s.preview(spec)).changeSummary).toEqual({ same: 4 });

    await s.destroy(); // the state still holds the loader written by the old version
    const deleted = (await readFile(marker(), "utf8")).split("\n").filter(Boolean).sort();
    expect(deleted).toEqual(["br0", expect.stringMatching(/^br0\/cookie=0x[0-9a-f]+$/)]);
    expect((await exec(host, ["ovs-vsctl", "list-br"])).stdout.trim()).toBe("br-phy");
  });

  test("a stack made by provider 0.1.0 keeps its owners: refresh keeps, up marks its namespace, destroy cleans up", async () => {
    await s?.dispose();
    const before = await hostSnapshot(host);
    const ns = `${lab.name}-old`;
    s = await testStack("resources", { provider: await providerAt(root, PROVIDER_0_1_0) });
    const spec = [
      { kind: "Bridge", name: "br", args: { host, name: "br0", datapathType: "netdev" } },
      { kind: "Port", name: "p", dependsOn: ["br"], args: { host, bridge: "br0", name: "old-int", type: "internal", ofportRequest: 7 } },
      { kind: "Meter", name: "m", dependsOn: ["br"], args: { host, bridge: "br0", meterId: 7, bands: [{ type: "drop", rate: 1000 }] } },
      { kind: "FlowSet", name: "fs", dependsOn: ["p"], args: { host, bridge: "br0", meters: ["m"], flows: [{ match: "in_port=7", actions: "meter:7,output:in_port" }] } },
      { kind: "Netns", name: "n", args: { host, name: ns } },
    ];
    expect((await s.up(spec)).summary.resourceChanges).toEqual({ create: 6 });
    const owners = async () => ((await s.stack.exportStack()).deployment.resources as { type: string; outputs?: { owner?: string } }[]).filter((r) => r.outputs?.owner).map((r) => r.outputs!.owner).sort();
    const old = await owners();
    expect(old).toHaveLength(5);
    for (const owner of old) expect(owner).toMatch(/^[^/]+\/test\/[A-Za-z]+\/[a-z]+$/);

    await linkProvider(s.dir, join(REPO, "provider"));
    expect((await s.refresh()).summary.resourceChanges).toEqual({ same: 6 }); // the unmarked namespace is still this stack's
    expect((await s.up(spec)).summary.resourceChanges).toEqual({ create: 1, same: 1, update: 5 }); // the stack instance; providerVersion only
    expect(await owners()).toEqual(old);
    const lo = JSON.parse((await exec({ kind: "local" }, ["ip", "-n", ns, "-j", "link", "show", "dev", "lo"])).stdout) as { altnames?: string[] }[];
    expect(lo[0].altnames).toEqual([expect.stringMatching(/^ool-ns-[0-9a-f]{16}$/)]);
    expect((await s.refresh()).summary.resourceChanges).toEqual({ same: 7 });

    await s.destroy();
    expect(await hostSnapshot(host)).toEqual(before);
    const left = JSON.parse((await exec({ kind: "local" }, ["ip", "-j", "netns", "list"])).stdout || "[]") as { name: string }[];
    expect(left.map((n) => n.name)).not.toContain(ns);
  });
});
