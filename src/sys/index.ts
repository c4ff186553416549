/**
 * husk's system layer: everything that forks, reaps or touches raw fds, on top of the native addon.
 */
export { type EventWatch, watchMemoryOomV1 } from "./cgroup-event.js";
export { type ConsoleSocket, createConsoleSocket } from "./console-socket.js";
export {
  dup,
  getWinsize,
  isFifo,
  mkfifo,
  pipe,
  setCloseOnExec,
  setPipeSize,
  setWinsize,
  socketPair,
} from "./fd.js";
export { type MountFlags, type MountSpec, mount, mountAll, mountFlags, unmountRecursive } from "./mount.js";
export { peerCredentials } from "./peer.js";
export { isChildSubreaper, setChildSubreaper, signalName, signalNumber } from "./process.js";
export { type ExitCapture, type ExitStatus, getReaper, type Reaper } from "./reaper.js";
export { type RunOptions, type RunResult, runCommand } from "./run.js";
export { type Child, resolveExecutable, type SpawnOptions, spawn } from "./spawn.js";
