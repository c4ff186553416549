/**
 * husk's decided init table, restated independently of src/process/init-machine.ts so that the tests
 * check the code against the decision rather than against itself. One row per state, one column per
 * operation variant (kill with signals 9, 15, 1 and `all`; start of a plain and of a sandbox
 * container; checkpoint with and without exit).
 */
import { Code } from "../../../src/errors.js";
import type { InitOp, InitProcess, InitState } from "../../../src/process/index.js";

/** The outcome of a runtime call that failed (the op's main call was told to fail). */
export interface FailedOutcome<S extends string = InitState> {
  /** Runtime calls made. */
  readonly calls: readonly string[];
  /** State afterwards. */
  readonly state: S;
  /** Exit status recorded afterwards, when the failure records one. */
  readonly exit?: number;
  /** False when the op still resolves (only best-effort calls failed). */
  readonly rejects: boolean;
}

/** What one cell must do. */
export type Expectation<S extends string = InitState> =
  | { readonly kind: "refuse"; readonly code: Code }
  | { readonly kind: "noop" }
  | {
      readonly kind: "run";
      /** Runtime calls made when they succeed. */
      readonly calls: readonly string[];
      /** State afterwards. */
      readonly state: S;
      /** Exit status recorded afterwards, when the op records one. */
      readonly exit?: number;
      /** Outcome when the op's main runtime call fails. */
      readonly failed: FailedOutcome<S>;
    };

/** One operation variant: how to invoke it, and which runtime method the failure mode breaks. */
export interface InitVariant {
  readonly name: string;
  /** The pure-machine op this variant performs. */
  readonly op: InitOp;
  /** Construct the process as a sandbox. */
  readonly sandbox: boolean;
  /** Answered synchronously, without the process mutex. */
  readonly sync: boolean;
  /** The runtime method that fails in failure mode. */
  readonly failMethod: string;
  invoke(process: InitProcess): Promise<unknown>;
}

/** Exit status used by the `setExited` column. */
export const CELL_EXIT_STATUS = 7;
/** Checkpoint image path used by the checkpoint columns. */
export const IMAGE_PATH = "/img";
const CHECKPOINT = { imagePath: IMAGE_PATH };
const CHECKPOINT_EXIT = { imagePath: IMAGE_PATH, exit: true };
const RESOURCES = { cpu: { shares: 2 } };

const variant = (
  name: string,
  op: InitOp,
  failMethod: string,
  invoke: (process: InitProcess) => Promise<unknown>,
  extra: { sandbox?: boolean; sync?: boolean } = {},
): InitVariant => ({
  name,
  op,
  failMethod,
  invoke,
  sandbox: extra.sandbox ?? false,
  sync: extra.sync ?? false,
});

const sync = (action: (process: InitProcess) => void) => (process: InitProcess) =>
  new Promise<void>((resolve) => {
    action(process);
    resolve();
  });

/** Every operation variant of the init. */
export const INIT_VARIANTS: readonly InitVariant[] = [
  variant("start", { kind: "start", sandbox: false }, "start", (p) => p.start()),
  variant("start (sandbox)", { kind: "start", sandbox: true }, "start", (p) => p.start(), { sandbox: true }),
  variant("delete", { kind: "delete" }, "delete", (p) => p.delete()),
  variant(
    "exec",
    { kind: "exec" },
    "-",
    sync((p) => {
      p.assertCanExec();
    }),
    { sync: true },
  ),
  variant("kill 9", { kind: "kill", signal: 9, all: false }, "kill", (p) => p.kill(9)),
  variant("kill 15", { kind: "kill", signal: 15, all: false }, "kill", (p) => p.kill(15)),
  variant("kill 1", { kind: "kill", signal: 1, all: false }, "kill", (p) => p.kill(1)),
  variant("kill 9 all", { kind: "kill", signal: 9, all: true }, "kill", (p) => p.kill(9, true)),
  variant("pause", { kind: "pause" }, "pause", (p) => p.pause()),
  variant("resume", { kind: "resume" }, "resume", (p) => p.resume()),
  variant("update", { kind: "update", resources: RESOURCES }, "update", (p) => p.update(RESOURCES)),
  variant("checkpoint", { kind: "checkpoint", options: CHECKPOINT }, "checkpoint", (p) =>
    p.checkpoint(CHECKPOINT),
  ),
  variant("checkpoint (exit)", { kind: "checkpoint", options: CHECKPOINT_EXIT }, "checkpoint", (p) =>
    p.checkpoint(CHECKPOINT_EXIT),
  ),
  variant(
    "stat",
    { kind: "stat" },
    "-",
    sync((p) => {
      p.assertCanStat();
    }),
    { sync: true },
  ),
  variant(
    "resize",
    { kind: "resize" },
    "-",
    sync((p) => {
      p.assertCanResize();
    }),
    { sync: true },
  ),
  variant("setExited", { kind: "setExited" }, "resume", (p) => p.setExited(CELL_EXIT_STATUS)),
];

export const FP = { kind: "refuse", code: Code.FailedPrecondition } as const;
export const NF = { kind: "refuse", code: Code.NotFound } as const;
export const NOOP = { kind: "noop" } as const;

// A runtime call that leaves the state as it was, on success and on failure.
export const same = <S extends string>(state: S, ...calls: string[]): Expectation<S> => ({
  kind: "run",
  calls,
  state,
  failed: { calls: calls.slice(0, 1), state, rejects: true },
});

export const recordExit = (calls: string[] = []): Expectation<"stopped"> => ({
  kind: "run",
  calls,
  state: "stopped",
  exit: CELL_EXIT_STATUS,
  // Only the best-effort thaw can fail; its error is ignored.
  failed: { calls, state: "stopped", exit: CELL_EXIT_STATUS, rejects: false },
});

/** The decided table: expectation per state and variant name. */
export const INIT_TABLE: Readonly<Record<InitState, Readonly<Record<string, Expectation>>>> = {
  created: {
    start: {
      kind: "run",
      calls: ["start"],
      state: "running",
      failed: { calls: ["start", "closeIO"], state: "stopped", exit: 128, rejects: true },
    },
    "start (sandbox)": {
      kind: "run",
      calls: ["start"],
      state: "running",
      failed: { calls: ["start"], state: "created", rejects: true },
    },
    delete: {
      kind: "run",
      calls: ["delete"],
      state: "deleted",
      exit: 128,
      failed: { calls: ["delete"], state: "created", rejects: true },
    },
    exec: NOOP,
    "kill 9": same("created", "kill 9 false"),
    "kill 15": same("created", "kill 15 false"),
    "kill 1": same("created", "kill 1 false"),
    "kill 9 all": same("created", "kill 9 true"),
    pause: FP,
    resume: FP,
    update: same("created", "update"),
    checkpoint: FP,
    "checkpoint (exit)": FP,
    stat: NOOP,
    resize: NOOP,
    setExited: recordExit(),
  },
  running: {
    start: FP,
    "start (sandbox)": FP,
    delete: FP,
    exec: NOOP,
    "kill 9": same("running", "kill 9 false"),
    "kill 15": same("running", "kill 15 false"),
    "kill 1": same("running", "kill 1 false"),
    "kill 9 all": same("running", "kill 9 true"),
    pause: {
      kind: "run",
      calls: ["pause"],
      state: "paused",
      failed: { calls: ["pause"], state: "running", rejects: true },
    },
    resume: FP,
    update: same("running", "update"),
    checkpoint: same("running", `checkpoint ${IMAGE_PATH}`),
    "checkpoint (exit)": same("running", `checkpoint ${IMAGE_PATH}`),
    stat: NOOP,
    resize: NOOP,
    setExited: recordExit(),
  },
  pausing: {
    start: FP,
    "start (sandbox)": FP,
    delete: FP,
    exec: FP,
    "kill 9": same("pausing", "kill 9 false", "resume"),
    "kill 15": same("pausing", "kill 15 false"),
    "kill 1": same("pausing", "kill 1 false"),
    "kill 9 all": same("pausing", "kill 9 true", "resume"),
    pause: FP,
    resume: FP,
    update: FP,
    checkpoint: FP,
    "checkpoint (exit)": FP,
    stat: NOOP,
    resize: NOOP,
    setExited: recordExit(["resume"]),
  },
  paused: {
    start: FP,
    "start (sandbox)": FP,
    delete: FP,
    exec: FP,
    "kill 9": same("paused", "kill 9 false", "resume"),
    "kill 15": same("paused", "kill 15 false"),
    "kill 1": same("paused", "kill 1 false"),
    "kill 9 all": same("paused", "kill 9 true", "resume"),
    pause: FP,
    resume: {
      kind: "run",
      calls: ["resume"],
      state: "running",
      failed: { calls: ["resume"], state: "paused", rejects: true },
    },
    update: same("paused", "update"),
    checkpoint: same("paused", `checkpoint ${IMAGE_PATH}`),
    "checkpoint (exit)": same("paused", `checkpoint ${IMAGE_PATH}`),
    stat: NOOP,
    resize: NOOP,
    setExited: recordExit(["resume"]),
  },
  stopped: {
    start: FP,
    "start (sandbox)": FP,
    delete: {
      kind: "run",
      calls: ["delete"],
      state: "deleted",
      failed: { calls: ["delete"], state: "stopped", rejects: true },
    },
    exec: FP,
    "kill 9": NOOP,
    "kill 15": NOOP,
    "kill 1": NF,
    "kill 9 all": NOOP,
    pause: FP,
    resume: FP,
    update: FP,
    checkpoint: FP,
    "checkpoint (exit)": FP,
    stat: FP,
    resize: NOOP,
    setExited: NOOP,
  },
  deleted: {
    start: FP,
    "start (sandbox)": FP,
    delete: NF,
    exec: FP,
    "kill 9": NOOP,
    "kill 15": NOOP,
    "kill 1": NF,
    "kill 9 all": NOOP,
    pause: FP,
    resume: FP,
    update: FP,
    checkpoint: FP,
    "checkpoint (exit)": FP,
    stat: FP,
    resize: FP,
    setExited: NOOP,
  },
};

/** The expectation of one cell; throws when the table lacks it (a test bug). */
export function expectationFor(state: InitState, variantName: string): Expectation {
  const cell = INIT_TABLE[state][variantName];
  if (cell === undefined) throw new Error(`no expectation for ${state} × ${variantName}`);
  return cell;
}
