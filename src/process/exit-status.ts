/**
 * Exit status arithmetic shared by the init and exec machines, the reaper glue and the shim: how a
 * wait status becomes the one number containerd reports, and the statuses husk records itself.
 */
import { constants } from "node:os";

/** Signal number of SIGKILL on Linux. */
export const SIGKILL = 9;
/** Signal number of SIGTERM on Linux. */
export const SIGTERM = 15;
/** Highest signal number Linux accepts (SIGRTMAX). */
export const MAX_SIGNAL = 64;

/**
 * The exit status husk records for a process whose program never ran: its start failed, or it was
 * deleted while still created. Waiters get this status instead of waiting forever.
 *
 * containerd counterpart: gVisor's shim `proc.internalErrorCode` (containerd's runc shim has none and
 * leaves the process created).
 */
export const INTERNAL_START_FAILURE = 128;

/** Offset added to a signal number when a process was killed by that signal (shell convention). */
export const SIGNAL_EXIT_OFFSET = 128;

/**
 * What a wait reported for one process: `code` for a normal exit, `signal` (a number, or a Node signal
 * name such as `"SIGKILL"`) when a signal killed it. Exactly one of them is normally set.
 */
export interface WaitResult {
  readonly code?: number | null;
  readonly signal?: number | string | null;
}

/**
 * The exit status containerd reports for a wait result: 128 + N when signal N killed the process,
 * otherwise the exit code (0 when neither is known). An unknown signal name yields 128.
 *
 * containerd counterpart: `sys/reaper` `exitStatus` (killed by signal N → 128+N, else the code).
 */
export function exitStatusFromWait(result: WaitResult): number {
  const { code, signal } = result;
  if (signal !== undefined && signal !== null) {
    return SIGNAL_EXIT_OFFSET + signalNumber(signal);
  }
  return code ?? 0;
}

/** The number of a signal given as a number or a Node signal name; 0 for an unknown name. */
export function signalNumber(signal: number | string): number {
  if (typeof signal === "number") return signal;
  const signals = constants.signals as Readonly<Record<string, number | undefined>>;
  return signals[signal] ?? 0;
}

/** The signal that killed a process with this exit status, or undefined for a normal exit status. */
export function signalOfExitStatus(status: number): number | undefined {
  const signal = status - SIGNAL_EXIT_OFFSET;
  return signal > 0 && signal <= MAX_SIGNAL ? signal : undefined;
}

/**
 * True for the signals a caller uses to stop a process (SIGKILL, SIGTERM). Killing an already
 * finished process with one of these succeeds, because the caller got what it asked for; any
 * other signal answers NotFound.
 *
 * containerd counterpart: gVisor's shim `handleStoppedKill`.
 */
export function isStopSignal(signal: number): boolean {
  return signal === SIGKILL || signal === SIGTERM;
}

/** True for a signal number Linux can deliver with kill(2): an integer from 0 (probe) to 64. */
export function isValidSignal(signal: number): boolean {
  return Number.isInteger(signal) && signal >= 0 && signal <= MAX_SIGNAL;
}
