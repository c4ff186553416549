/**
 * Builds a minimal container root filesystem from Debian's busybox-static: one static binary plus
 * applet symlinks, the mount points runc expects, and /etc/passwd for a non-root user.
 * Used by tests, benchmarks and the README demo. Run directly: `node make-rootfs.js DIR`.
 */
import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const BUSYBOX = "/bin/busybox";

const APPLETS = [
  "sh",
  "ash",
  "echo",
  "cat",
  "sleep",
  "true",
  "false",
  "ls",
  "ps",
  "kill",
  "head",
  "tail",
  "dd",
  "sha256sum",
  "md5sum",
  "yes",
  "wc",
  "env",
  "id",
  "hostname",
  "uname",
  "mkdir",
  "rm",
  "stty",
  "tty",
  "seq",
  "tr",
  "printf",
  "test",
  "[",
  "grep",
  "awk",
  "sed",
  "od",
  "date",
  "touch",
  "pwd",
  "cut",
  "tee",
  "xargs",
  "timeout",
  "nproc",
  "free",
  "top",
  "pidof",
  "pgrep",
  "pkill",
  "chmod",
  "chown",
  "cp",
  "mv",
  "ln",
  "find",
  "wait",
  "usleep",
  "expr",
  "base64",
  "stat",
  "readlink",
  "mount",
  "umount",
  "whoami",
  "nohup",
  "setsid",
  "hexdump",
  "xxd",
  "cksum",
  "sync",
];

/** Creates (or completes) a busybox rootfs at `dir`. Throws if busybox-static is not installed. */
export function makeRootfs(dir: string): string {
  if (!existsSync(BUSYBOX)) {
    throw new Error(`${BUSYBOX} is missing: apt-get install busybox-static`);
  }
  for (const sub of ["bin", "proc", "sys", "dev", "tmp", "etc", "root", "home/user", "run"]) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  copyFileSync(BUSYBOX, join(dir, "bin/busybox"));
  for (const applet of APPLETS) {
    const link = join(dir, "bin", applet);
    if (!existsSync(link)) symlinkSync("busybox", link);
  }
  writeFileSync(
    join(dir, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n",
  );
  writeFileSync(join(dir, "etc/group"), "root:x:0:\nuser:x:1000:\n");
  writeFileSync(join(dir, "etc/hostname"), "husk\n");
  return dir;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = process.argv[2];
  if (dir === undefined) {
    process.stderr.write("usage: make-rootfs DIR\n");
    process.exit(2);
  }
  makeRootfs(dir);
}
