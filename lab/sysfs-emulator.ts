// The sysfs emulator daemon of a lab: started by `lab up` inside the lab's
// fabric namespace, stopped by `lab down` through the pidfile it writes once
// it is watching (so the pidfile also says "ready").
// Usage: sysfs-emulator.ts <lab-name> <vf-count>
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { labLayout } from "./layout.ts";
import { SysfsEmulator } from "./sysfs.ts";

const [name, vfCount] = process.argv.slice(2);
const lab = labLayout(name, Number(vfCount));
const logFile = join(lab.dir, "sysfs-emulator.log");
const emulator = new SysfsEmulator(lab, (line) => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`));
emulator.start();
writeFileSync(lab.emulatorPidfile, `${process.pid}\n`);

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    emulator.stop();
    void emulator.idle().finally(() => process.exit(0));
  });
}
