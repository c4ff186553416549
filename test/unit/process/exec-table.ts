/**
 * husk's decided exec table, restated independently of src/process/exec-machine.ts. Start is split
 * by the parent's status; every other operation must not depend on it.
 */
import type { ExecOp, ExecProcess, ExecState, InitStatus } from "../../../src/process/index.js";
import { type Expectation, FP, NF, NOOP, recordExit, same } from "./init-table.js";

/** One exec operation variant. */
export interface ExecVariant {
  readonly name: string;
  readonly op: ExecOp;
  /** The parent status while the op runs (only start depends on it). */
  readonly parent: InitStatus;
  /** The runtime method that fails in failure mode ("-": none). */
  readonly failMethod: string;
  invoke(process: ExecProcess): Promise<unknown>;
}

/** Exit status used by the `setExited` column. */
export const EXEC_CELL_EXIT_STATUS = 7;

/** Every parent status. */
export const PARENT_STATUSES: readonly InitStatus[] = ["created", "running", "pausing", "paused", "stopped"];

/** Every exec operation variant. */
export const EXEC_VARIANTS: readonly ExecVariant[] = [
  ...PARENT_STATUSES.map(
    (parent): ExecVariant => ({
      name: `start (parent ${parent})`,
      op: { kind: "start" },
      parent,
      failMethod: "start",
      invoke: (p) => p.start(),
    }),
  ),
  {
    name: "delete",
    op: { kind: "delete" },
    parent: "running",
    failMethod: "delete",
    invoke: (p) => p.delete(),
  },
  ...[9, 15, 1].map(
    (signal): ExecVariant => ({
      name: `kill ${signal}`,
      op: { kind: "kill", signal },
      parent: "running",
      failMethod: "kill",
      invoke: (p) => p.kill(signal),
    }),
  ),
  {
    name: "resize",
    op: { kind: "resize", width: 80, height: 24 },
    parent: "running",
    failMethod: "resize",
    invoke: (p) => p.resize(80, 24),
  },
  {
    name: "closeIO",
    op: { kind: "closeIO" },
    parent: "running",
    failMethod: "closeIO",
    invoke: (p) => p.closeIO(),
  },
  {
    name: "setExited",
    op: { kind: "setExited" },
    parent: "running",
    failMethod: "-",
    invoke: (p) => p.setExited(EXEC_CELL_EXIT_STATUS),
  },
];

const startAllowed: Expectation<ExecState> = {
  kind: "run",
  calls: ["start"],
  state: "running",
  failed: { calls: ["start", "closeIO"], state: "stopped", exit: 128, rejects: true },
};

/** The decided table: expectation per exec state and variant name. */
export const EXEC_TABLE: Readonly<Record<ExecState, Readonly<Record<string, Expectation<ExecState>>>>> = {
  created: {
    "start (parent created)": startAllowed,
    "start (parent running)": startAllowed,
    "start (parent pausing)": FP,
    "start (parent paused)": FP,
    "start (parent stopped)": FP,
    delete: {
      kind: "run",
      calls: ["delete"],
      state: "deleted",
      exit: 128,
      failed: { calls: ["delete"], state: "created", rejects: true },
    },
    "kill 9": FP,
    "kill 15": FP,
    "kill 1": FP,
    resize: same("created", "resize 80 24"),
    closeIO: same("created", "closeIO"),
    setExited: recordExit(),
  },
  running: {
    "start (parent created)": FP,
    "start (parent running)": FP,
    "start (parent pausing)": FP,
    "start (parent paused)": FP,
    "start (parent stopped)": FP,
    delete: FP,
    "kill 9": same("running", "kill 9"),
    "kill 15": same("running", "kill 15"),
    "kill 1": same("running", "kill 1"),
    resize: same("running", "resize 80 24"),
    closeIO: same("running", "closeIO"),
    setExited: recordExit(),
  },
  stopped: {
    "start (parent created)": FP,
    "start (parent running)": FP,
    "start (parent pausing)": FP,
    "start (parent paused)": FP,
    "start (parent stopped)": FP,
    delete: {
      kind: "run",
      calls: ["delete"],
      state: "deleted",
      failed: { calls: ["delete"], state: "stopped", rejects: true },
    },
    "kill 9": NOOP,
    "kill 15": NOOP,
    "kill 1": NF,
    resize: FP,
    closeIO: same("stopped", "closeIO"),
    setExited: NOOP,
  },
  deleted: {
    "start (parent created)": NF,
    "start (parent running)": NF,
    "start (parent pausing)": NF,
    "start (parent paused)": NF,
    "start (parent stopped)": NF,
    delete: NF,
    "kill 9": NOOP,
    "kill 15": NOOP,
    "kill 1": NF,
    resize: NF,
    closeIO: NF,
    setExited: NOOP,
  },
};

/** The expectation of one exec cell; throws when the table lacks it (a test bug). */
export function execExpectationFor(state: ExecState, variantName: string): Expectation<ExecState> {
  const cell = EXEC_TABLE[state][variantName];
  if (cell === undefined) throw new Error(`no expectation for ${state} × ${variantName}`);
  return cell;
}
