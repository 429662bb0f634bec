// A cpio archive in the "newc" format the kernel unpacks as an initramfs.
// Written here so set-up needs no cpio tool.

export interface CpioEntry {
  path: string;
  /** File type and permission bits, e.g. 0o100755 (file), 0o40755 (directory), 0o120777 (symlink). */
  mode: number;
  /** File contents, or a symlink's target. */
  data?: Buffer;
}

const hex8 = (n: number) => n.toString(16).padStart(8, "0");
const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);

function record(ino: number, e: CpioEntry): Buffer[] {
  const name = Buffer.from(`${e.path}\0`);
  const data = e.data ?? Buffer.alloc(0);
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  const fields = [ino, e.mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length, 0];
  const header = Buffer.from(`070701${fields.map(hex8).join("")}`);
  return [header, name, pad4(header.length + name.length), data, pad4(data.length)];
}

export function cpio(entries: CpioEntry[]): Buffer {
  const parts = entries.flatMap((e, i) => record(i + 1, e));
  parts.push(...record(0, { path: "TRAILER!!!", mode: 0 }));
  return Buffer.concat(parts);
}
