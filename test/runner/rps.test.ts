// RPS's CPU masks and the --rps option's form. Writing and restoring the
// masks runs on a lab host's real sysfs (test/runner/measure.lab.test.ts).
import { expect, test } from "vitest";
import { cpuMask, rpsTarget } from "../../runner/rps.ts";

test.each([
  // This machine's /sys/devices/system/cpu/online.
  ["0-1", "3"],
  // The example of the kernel's Documentation/admin-guide/cputopology.rst (online: 0-1,3).
  ["0-1,3", "b"],
  // 24 CPUs, as the seed's hosts had (%Cpu0 to %Cpu23).
  ["0-23\n", "ffffff"],
  // Past 32 CPUs the kernel's mask is 32-bit words, comma-separated, as rps_cpus reads.
  ["0-39", "ff,ffffffff"],
  ["32", "1,00000000"],
])("the online CPUs %j as a mask: %s", (list, mask) => {
  expect(cpuMask(list)).toBe(mask);
});

test("a CPU list that is not one is an error", () => {
  expect(() => cpuMask("0-1,x")).toThrow('not a CPU list: "0-1,x"');
});

test("--rps takes NAME:DEVICE, the device a valid interface name", () => {
  expect(rpsTarget.parse("host2:ens1f0np0")).toEqual({ on: "host2", device: "ens1f0np0" });
  expect(rpsTarget.safeParse("ens1f0").error?.issues[0].message).toMatch(/^must be NAME:DEVICE/);
  expect(rpsTarget.safeParse("host2:../../x").error?.issues[0].message).toMatch(/^must be letters, digits/);
  expect(rpsTarget.safeParse("host2:a-very-long-device-name").error?.issues[0].message).toMatch(/at most 15 bytes/);
});
