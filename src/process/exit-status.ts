/**
 * Exit statuses and signals as the init and exec machines see them: the status husk records itself for a process
 * that never ran, and which signals a finished process answers with success. (The reaper encodes what the kernel
 * reports: exit code, or 128 + N for a process killed by signal N.)
 */

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
