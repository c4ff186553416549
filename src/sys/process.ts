/**
 * Process-wide knobs and the signal table.
 *
 * containerd counterpart: `sys/reaper` (`SetSubreaper`), and the signal parsing of
 * `github.com/moby/sys/signal` (`ParseSignal`) used by `ctr task kill` and the runc shim.
 */
import { constants } from "node:os";
import { invalidArgument } from "../errors.js";
import { native } from "./native.js";

/** Makes this process a child subreaper (prctl PR_SET_CHILD_SUBREAPER): orphaned descendants become our children. */
export function setChildSubreaper(): void {
  native().setChildSubreaper();
}

/** True when this process is a child subreaper (prctl PR_GET_CHILD_SUBREAPER). */
export function isChildSubreaper(): boolean {
  return native().isChildSubreaper();
}

// Linux/glibc: SIGRTMIN is 34 (glibc reserves 32 and 33 for itself), SIGRTMAX is 64 (_NSIG - 1).
const SIGRTMIN = 34;
const SIGRTMAX = 64;

// Canonical names win over aliases in signalName (SIGIOT = SIGABRT, SIGPOLL = SIGIO, SIGUNUSED = SIGSYS).
const ALIASES = new Set(["SIGIOT", "SIGPOLL", "SIGUNUSED", "SIGLOST", "SIGINFO"]);

const byName = new Map<string, number>();
const byNumber = new Map<number, string>();
for (const [name, value] of Object.entries(constants.signals)) {
  byName.set(name, value);
  const existing = byNumber.get(value);
  if (existing === undefined || (ALIASES.has(existing) && !ALIASES.has(name))) byNumber.set(value, name);
}

function realtime(name: string): number | undefined {
  const match = /^SIGRT(MIN|MAX)(?:([+-])(\d+))?$/.exec(name);
  if (match === null) return undefined;
  const base = match[1] === "MIN" ? SIGRTMIN : SIGRTMAX;
  const offset = match[3] === undefined ? 0 : Number(match[3]) * (match[2] === "-" ? -1 : 1);
  const n = base + offset;
  return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
}

/**
 * A signal's number from a name with or without `SIG` (any case), a decimal string, or a number:
 * `"TERM"`, `"SIGTERM"`, `"15"`, `15` → 15. Also `SIGRTMIN+n` / `SIGRTMAX-n`. 0 (the existence probe of
 * kill(2)) is accepted as a number. Throws InvalidArgument `unknown signal "X"` otherwise.
 */
export function signalNumber(signal: string | number): number {
  if (typeof signal === "number") {
    if (Number.isInteger(signal) && signal >= 0 && signal <= SIGRTMAX) return signal;
    throw invalidArgument(`unknown signal "${signal}"`);
  }
  const text = signal.trim();
  if (/^\d+$/.test(text)) return signalNumber(Number(text));
  const upper = text.toUpperCase();
  const name = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  const n = byName.get(name) ?? realtime(name);
  if (n === undefined) throw invalidArgument(`unknown signal "${signal}"`);
  return n;
}

/** The canonical name of signal `n`: 15 → `"SIGTERM"`, 36 → `"SIGRTMIN+2"`. InvalidArgument outside 1..64. */
export function signalName(n: number): string {
  const name = byNumber.get(n);
  if (name !== undefined) return name;
  if (Number.isInteger(n) && n >= SIGRTMIN && n <= SIGRTMAX) {
    return n === SIGRTMAX ? "SIGRTMAX" : n === SIGRTMIN ? "SIGRTMIN" : `SIGRTMIN+${n - SIGRTMIN}`;
  }
  throw invalidArgument(`unknown signal "${n}"`);
}
