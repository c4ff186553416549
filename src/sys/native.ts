/**
 * Loader and typed surface of husk's native addon (`native/build/Release/husk.node`).
 *
 * The addon holds only what Node.js cannot do (subreaper, the reaper thread, spawn with an fd map,
 * SCM_RIGHTS receive, ioctls, eventfd polling, mount). Everything here is internal to `src/sys`.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { internalError } from "../errors.js";

/** A syscall error thrown by the addon: `code` is the errno name, `errno` its (positive) number. */
export interface NativeErrnoError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
}

/** Extra fields of an error thrown by {@link NativeBinding.spawn} when the child failed before exec. */
export interface NativeSpawnError extends NativeErrnoError {
  readonly stage: "fd" | "setsid" | "setpgid" | "pdeathsig" | "chdir" | "exec" | "unknown";
  readonly pid: number;
  readonly generation: number;
}

/** The native eventfd watcher class (see native/src/eventfd_watch.cc). */
export interface NativeEventfdWatch {
  close(): void;
}

/** The functions exported by husk.node. Fds returned are O_CLOEXEC and owned by the caller. */
export interface NativeBinding {
  startReaper(
    onExit: (pid: number, status: number, signal: number, atMs: number, generation: number) => void,
  ): void;
  reaperRef(keepAlive: boolean): void;
  bumpGeneration(): number;
  setChildSubreaper(): void;
  isChildSubreaper(): boolean;
  spawn(
    path: string,
    argv: readonly string[],
    envp: readonly string[],
    cwd: string | null,
    sources: readonly number[],
    setsid: boolean,
    setpgid: boolean,
    pdeathsig: number,
  ): { pid: number; generation: number };
  pipe(): [number, number];
  socketPair(): [number, number];
  dup(fd: number): number;
  setWinsize(fd: number, rows: number, cols: number): void;
  getWinsize(fd: number): [number, number];
  setPipeSize(fd: number, bytes: number): number;
  setCloseOnExec(fd: number, on: boolean): void;
  mkfifo(path: string, mode: number): void;
  peerCredentials(fd: number): { pid: number; uid: number; gid: number };
  listenUnix(path: string): number;
  eventfd(): number;
  receiveFd(listenFd: number, cancelFd: number, timeoutMs: number): Promise<{ fd: number; name: string }>;
  EventfdWatch: new (fd: number, onEvent: (count: number) => void) => NativeEventfdWatch;
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  umount2(target: string, flags: number): void;
  mountConstants: Readonly<Record<MountConstantName, number>>;
}

/** Names of the MS_* / MNT_* constants the addon exports. */
export type MountConstantName =
  | "MS_RDONLY"
  | "MS_NOSUID"
  | "MS_NODEV"
  | "MS_NOEXEC"
  | "MS_SYNCHRONOUS"
  | "MS_REMOUNT"
  | "MS_MANDLOCK"
  | "MS_DIRSYNC"
  | "MS_NOATIME"
  | "MS_NODIRATIME"
  | "MS_BIND"
  | "MS_REC"
  | "MS_UNBINDABLE"
  | "MS_PRIVATE"
  | "MS_SLAVE"
  | "MS_SHARED"
  | "MS_RELATIME"
  | "MS_STRICTATIME"
  | "MNT_DETACH";

const ADDON_RELATIVE = "native/build/Release/husk.node";

/**
 * Where husk.node may be, most specific first: `$HUSK_NATIVE`, then relative to this module's file
 * for the layouts we ship — `dist/src/sys/native.js` (tsc output) and `dist/bundle/*.mjs` (esbuild),
 * plus `src/sys/native.ts` run from source.
 */
export function nativeCandidates(moduleUrl: string = import.meta.url): string[] {
  const here = dirname(fileURLToPath(moduleUrl));
  const candidates: string[] = [];
  const fromEnv = process.env.HUSK_NATIVE;
  if (fromEnv !== undefined && fromEnv !== "") candidates.push(resolve(fromEnv));
  for (const up of ["../../..", "../..", "..", "../../../.."])
    candidates.push(resolve(here, up, ADDON_RELATIVE));
  return [...new Set(candidates)];
}

let loaded: NativeBinding | undefined;

/** The addon, loaded on first use. Throws Internal naming every place it looked when it is missing. */
export function native(): NativeBinding {
  if (loaded !== undefined) return loaded;
  const candidates = nativeCandidates();
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) {
    throw internalError(
      `native addon husk.node not found (run npm run build:native; looked in ${candidates.join(", ")})`,
    );
  }
  const require = createRequire(import.meta.url);
  loaded = require(found) as NativeBinding;
  return loaded;
}

/** True when `value` is an errno error thrown by the addon (or any Node system error). */
export function isErrnoError(value: unknown): value is NativeErrnoError {
  return (
    value instanceof Error &&
    typeof (value as { code?: unknown }).code === "string" &&
    typeof (value as { errno?: unknown }).errno === "number"
  );
}
