// A provider code change reaches resources made by an older version: the
// state holds only the thin loader (provider/loader.ts), so even the delete
// of an old resource runs the code installed now; and a new provider version
// is written into the state by a plain update, never a replacement.
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exec } from "../../provider/host.ts";
import { labDown, labUp } from "../../lab/lab.ts";
import { labLayout } from "../../lab/layout.ts";
import { testLabName } from "../support/machine.ts";
import { linkProvider, testStack, type TestStack } from "../support/stack.ts";

const REPO = join(import.meta.dirname, "../..");
const lab = labLayout(testLabName(), 2);
const host = lab.hosts[0].spec;

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

  test("an old stack's resources are updated in place and deleted by the new code", async () => {
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
    expect((await s.up(spec)).summary.resourceChanges).toEqual({ create: 3 });

    await linkProvider(s.dir, next);
    const preview = await s.preview(spec);
    expect(preview.changeSummary).toEqual({ same: 1, update: 2 });
    expect(preview.stdout).toMatch(/providerVersion: "0\.1\.0" => "99\.0\.0-test"/);

    await s.destroy(); // the state still holds the loader written by the old version
    const deleted = (await readFile(marker(), "utf8")).split("\n").filter(Boolean).sort();
    expect(deleted).toEqual(["br0", expect.stringMatching(/^br0\/cookie=0x[0-9a-f]+$/)]);
    expect((await exec(host, ["ovs-vsctl", "list-br"])).stdout.trim()).toBe("br-phy");
  });
});
