// Records of resources deleted or made side by side on one host: each removes
// the directory when it is empty, so another finds it gone, or gone between
// its mkdir and its write. Answers as the lab's coreutils gave them.
import { expect, test } from "vitest";
import { CommandError, hostLabel, withExecutor, type Executor } from "../../provider/host.ts";
import { removeRecord, writeRecord } from "../../provider/host-record.ts";

const place = { host: { kind: "netns", netns: "ool-host1" } as const, sysfsRoot: "/run/ovs-offload-lab/ool/host1/sys" };
const gone = (argv: readonly string[], what: string) => new CommandError(hostLabel(place.host), argv, 1, "", `${argv[0]}: ${what}: No such file or directory`, "exited 1");

test("a record's directory already removed by another resource's delete is no error", async () => {
  const ran: string[] = [];
  const executor: Executor = async (_h, argv) => {
    ran.push(argv[0]);
    if (argv[0] === "rmdir") throw gone(argv, "failed to remove '/run/ovs-offload-lab/ool/host1/vf-binding'");
    return { stdout: "", stderr: "" };
  };
  await withExecutor(executor, () => removeRecord(place, "vf-binding", "0000:04:08.0"));
  expect(ran).toEqual(["rm", "rmdir"]);
});

test("a directory taken away between mkdir and the write is made again, once", async () => {
  const ran: string[] = [];
  let tees = 0;
  const executor: Executor = async (_h, argv) => {
    ran.push(argv[0]);
    if (argv[0] === "tee" && tees++ === 0) throw gone(argv, argv[1]);
    return { stdout: "", stderr: "" };
  };
  await withExecutor(executor, () => writeRecord(place, "vf-binding", "0000:04:08.0", { owner: "p/s/VfBinding/vf/0123456789abcdef" }));
  expect(ran).toEqual(["mkdir", "tee", "mkdir", "tee", "mv"]);
});
