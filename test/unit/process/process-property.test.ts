/**
 * Property tests: random sequences of operations on an init and up to three execs, some awaited and
 * some fired without awaiting, with exits (setExited) at random points — also from inside a pending
 * runtime call, as the reaper would deliver them — and runtime calls that fail or take a few event
 * loop turns at random. Whatever happens:
 * - every rejection is a HuskError with a code in the allowed set (Unknown only for a wrapped
 *   injected runtime error);
 * - no process ever moves backwards (e.g. running after stopped), the runtime is called only in
 *   states that allow the call, and an exit is recorded exactly when a process is stopped or deleted;
 * - wait() resolves exactly once, with the first recorded exit, which never changes;
 * - every operation settles (no deadlock), checked by turning the event loop, not by timing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Code, isHuskError, notFound } from "../../../src/errors.js";
import {
  ExecProcess,
  type ExecState,
  InitProcess,
  type InitState,
  type ProcessExit,
} from "../../../src/process/index.js";
import { FakeExecRuntime, FakeInitRuntime, tick } from "./fake-runtime.js";

/** An error the fake runtime throws on purpose; the executors must wrap it as Unknown. */
class InjectedError extends Error {}

type InitCommand =
  | { readonly kind: "start" | "delete" | "pause" | "resume" | "update" | "stat" | "exec" | "resize" }
  | { readonly kind: "kill"; readonly signal: number; readonly all: boolean }
  | { readonly kind: "checkpoint"; readonly exit: boolean }
  | { readonly kind: "setExited"; readonly status: number };

type ExecCommand =
  | { readonly kind: "start" | "delete" | "closeIO" | "resize" }
  | { readonly kind: "kill"; readonly signal: number }
  | { readonly kind: "setExited"; readonly status: number };

type Command = { readonly awaited: boolean; readonly gapTicks: number } & (
  | { readonly target: "init"; readonly command: InitCommand }
  | { readonly target: "newExec" }
  | { readonly target: "exec"; readonly index: number; readonly command: ExecCommand }
);

/** How one runtime call behaves: fail (1: plain error, 2: NotFound HuskError), delay, exit meanwhile. */
interface Step {
  readonly fail: 0 | 1 | 2;
  readonly ticks: number;
  readonly exitDuring: boolean;
}

const signalArb = fc.constantFrom(0, 1, 9, 15);
const statusArb = fc.integer({ min: 0, max: 255 });

const initCommandArb: fc.Arbitrary<InitCommand> = fc.oneof(
  fc.constantFrom(
    ...(["start", "delete", "pause", "resume", "update", "stat", "exec", "resize"] as const).map((kind) => ({
      kind,
    })),
  ),
  fc.record({ kind: fc.constant("kill" as const), signal: signalArb, all: fc.boolean() }),
  fc.record({ kind: fc.constant("checkpoint" as const), exit: fc.boolean() }),
  fc.record({ kind: fc.constant("setExited" as const), status: statusArb }),
);

const execCommandArb: fc.Arbitrary<ExecCommand> = fc.oneof(
  fc.constantFrom(...(["start", "delete", "closeIO", "resize"] as const).map((kind) => ({ kind }))),
  fc.record({ kind: fc.constant("kill" as const), signal: signalArb }),
  fc.record({ kind: fc.constant("setExited" as const), status: statusArb }),
);

const commandArb: fc.Arbitrary<Command> = fc
  .tuple(
    fc.boolean(),
    fc.integer({ min: 0, max: 2 }),
    fc.oneof(
      { weight: 5, arbitrary: fc.record({ target: fc.constant("init" as const), command: initCommandArb }) },
      { weight: 1, arbitrary: fc.record({ target: fc.constant("newExec" as const) }) },
      {
        weight: 4,
        arbitrary: fc.record({
          target: fc.constant("exec" as const),
          index: fc.integer({ min: 0, max: 2 }),
          command: execCommandArb,
        }),
      },
    ),
  )
  .map(([awaited, gapTicks, body]) => ({ awaited, gapTicks, ...body }));

const stepArb: fc.Arbitrary<Step> = fc.record({
  fail: fc.constantFrom<0 | 1 | 2>(0, 0, 0, 1, 2),
  ticks: fc.integer({ min: 0, max: 2 }),
  exitDuring: fc.boolean(),
});

/** Runs of the main property; raise it for a long soak: `HUSK_PROPERTY_RUNS=20000 node --test …`. */
const PROPERTY_RUNS = Number(process.env.HUSK_PROPERTY_RUNS ?? "400");

const ALLOWED_CODES = new Set<number>([Code.FailedPrecondition, Code.NotFound, Code.Unknown]);

// Direct transitions of each machine; a later observation must be reachable from an earlier one.
const INIT_EDGES: Readonly<Record<InitState, readonly InitState[]>> = {
  created: ["running", "stopped", "deleted"],
  running: ["pausing", "stopped"],
  pausing: ["paused", "running"],
  paused: ["running", "stopped"],
  stopped: ["deleted"],
  deleted: [],
};
const EXEC_EDGES: Readonly<Record<ExecState, readonly ExecState[]>> = {
  created: ["running", "stopped", "deleted"],
  running: ["stopped"],
  stopped: ["deleted"],
  deleted: [],
};

function reachable<S extends string>(edges: Readonly<Record<S, readonly S[]>>, from: S): Set<S> {
  const seen = new Set<S>([from]);
  const todo: S[] = [from];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    for (const to of edges[next]) {
      if (!seen.has(to)) {
        seen.add(to);
        todo.push(to);
      }
    }
  }
  return seen;
}

// Runtime calls allowed per state at the moment the call is made.
const INIT_CALL_STATES: Readonly<Record<string, readonly InitState[]>> = {
  start: ["created"],
  delete: ["created", "stopped"],
  kill: ["created", "running", "paused"],
  pause: ["pausing"],
  // A Resume op or the follow-up of SIGKILL (paused); the thaw after an exit (stopped).
  resume: ["paused", "stopped"],
  update: ["created", "running", "paused"],
  checkpoint: ["running", "paused"],
  // Closing the IO of a failed start happens before the move to stopped.
  closeIO: ["created"],
};
const EXEC_CALL_STATES: Readonly<Record<string, readonly ExecState[]>> = {
  start: ["created"],
  delete: ["created", "stopped"],
  kill: ["running"],
  resize: ["created", "running"],
  closeIO: ["created", "running", "stopped"],
};

/** One process under observation. */
interface Watched<S extends string> {
  readonly label: string;
  readonly process: { readonly state: S; readonly status: string; readonly exit: ProcessExit | undefined };
  readonly edges: Readonly<Record<S, readonly S[]>>;
  /** Exit statuses this process may legitimately record. */
  readonly allowedStatuses: Set<number>;
  last: S;
  firstExit: ProcessExit | undefined;
  waitResolutions: ProcessExit[];
}

class Scenario {
  readonly violations: string[] = [];
  readonly pending: { label: string; settled: boolean }[] = [];
  readonly watched: Watched<string>[] = [];
  readonly init: InitProcess;
  readonly initRuntime = new FakeInitRuntime();
  readonly execs: ExecProcess[] = [];
  readonly steps: readonly Step[];
  #stepIndex = 0;

  constructor(sandbox: boolean, steps: readonly Step[]) {
    this.steps = steps;
    this.init = new InitProcess({ id: "c-prop", pid: 4000, sandbox, runtime: this.initRuntime });
    const watched = this.#watch("init", this.init, INIT_EDGES);
    this.initRuntime.policy = (method) => this.#nextOutcome(method, () => this.init, watched);
    this.initRuntime.onCall = (method) => {
      this.#checkCall("init", method, this.init.state, INIT_CALL_STATES);
      this.sample();
    };
  }

  #watch<S extends string>(
    label: string,
    process: Watched<S>["process"] & { wait(): Promise<ProcessExit> },
    edges: Readonly<Record<S, readonly S[]>>,
  ): Watched<S> {
    const watched: Watched<S> = {
      label,
      process,
      edges,
      allowedStatuses: new Set([128]),
      last: process.state,
      firstExit: undefined,
      waitResolutions: [],
    };
    this.watched.push(watched);
    void process.wait().then(
      (exit) => {
        watched.waitResolutions.push(exit);
      },
      (error: unknown) => {
        this.violations.push(`${label}: wait() rejected with ${String(error)}`);
      },
    );
    return watched;
  }

  // The next scripted behaviour of a runtime call; may also deliver an exit meanwhile.
  #nextOutcome(
    method: string,
    target: () => { setExited(status: number): Promise<void> },
    watched: Watched<string>,
  ): { error?: unknown; ticks?: number } {
    const step = this.steps.length === 0 ? undefined : this.steps[this.#stepIndex % this.steps.length];
    this.#stepIndex += 1;
    if (step === undefined) return {};
    if (step.exitDuring && method === "start") {
      // The reaper reports the exit while the start is still pending.
      watched.allowedStatuses.add(137);
      void this.track(`${watched.label}.setExited(137) during start`, target().setExited(137));
    }
    const error =
      step.fail === 1
        ? new InjectedError(`injected ${method} failure`)
        : step.fail === 2
          ? notFound(`injected ${method} not found`)
          : undefined;
    return error === undefined ? { ticks: step.ticks } : { error, ticks: step.ticks };
  }

  #checkCall(
    label: string,
    method: string,
    state: string,
    allowed: Readonly<Record<string, readonly string[]>>,
  ) {
    if (!(allowed[method] ?? []).includes(state)) {
      this.violations.push(`${label}: runtime ${method} called in state ${state}`);
    }
  }

  addExec(): void {
    const index = this.execs.length;
    const runtime = new FakeExecRuntime();
    runtime.pidToReturn = 4100 + index;
    const exec = new ExecProcess({ id: `e${index}`, containerId: "c-prop", parent: this.init, runtime });
    this.execs.push(exec);
    const watched = this.#watch(`exec${index}`, exec, EXEC_EDGES);
    runtime.policy = (method) => this.#nextOutcome(method, () => exec, watched);
    runtime.onCall = (method) => {
      this.#checkCall(`exec${index}`, method, exec.state, EXEC_CALL_STATES);
      if (method === "start" && this.init.status !== "created" && this.init.status !== "running") {
        this.violations.push(`exec${index}: started while the container is ${this.init.status}`);
      }
      this.sample();
    };
  }

  /** Checks every invariant that must hold at any observation point. */
  sample(): void {
    for (const w of this.watched) {
      const { state, status, exit } = w.process;
      if (!reachable(w.edges, w.last).has(state)) {
        this.violations.push(`${w.label}: moved from ${w.last} to ${state}`);
      }
      w.last = state;
      const finished = state === "stopped" || state === "deleted";
      if (finished !== (exit !== undefined)) {
        this.violations.push(`${w.label}: state ${state} with exit ${JSON.stringify(exit)}`);
      }
      if (w.firstExit === undefined) {
        w.firstExit = exit;
        if (exit !== undefined && !w.allowedStatuses.has(exit.status)) {
          this.violations.push(`${w.label}: recorded unexpected status ${exit.status}`);
        }
      } else if (exit !== w.firstExit) {
        this.violations.push(`${w.label}: exit changed from ${JSON.stringify(w.firstExit)}`);
      }
      const parent = this.init.status;
      const expectedStatus =
        w.label !== "init" && (parent === "paused" || parent === "pausing")
          ? parent
          : state === "deleted"
            ? "stopped"
            : state;
      if (status !== expectedStatus) {
        this.violations.push(`${w.label}: status ${status} in state ${state} (parent ${parent})`);
      }
    }
  }

  /** Follows an operation's promise: records its settlement and checks its error. */
  track(label: string, promise: Promise<unknown>): Promise<void> {
    const entry = { label, settled: false };
    this.pending.push(entry);
    return promise.then(
      () => {
        entry.settled = true;
        this.sample();
      },
      (error: unknown) => {
        entry.settled = true;
        this.checkError(label, error);
        this.sample();
      },
    );
  }

  /** Runs a synchronous check (assertCan…), checking what it throws. */
  trySync(label: string, action: () => void): boolean {
    try {
      action();
      return true;
    } catch (error) {
      this.checkError(label, error);
      return false;
    }
  }

  checkError(label: string, error: unknown): void {
    if (!isHuskError(error)) {
      this.violations.push(`${label}: untyped error ${String(error)}`);
      return;
    }
    if (!ALLOWED_CODES.has(error.code)) {
      this.violations.push(`${label}: code ${error.code} (${error.message})`);
    }
    if (error.code === Code.Unknown && !(error.cause instanceof InjectedError)) {
      this.violations.push(`${label}: Unknown error not from the runtime: ${error.message}`);
    }
    if (label.includes("setExited")) this.violations.push(`${label}: setExited rejected`);
  }

  /** Issues one command; resolves when it should be followed by the next. */
  async issue(command: Command): Promise<void> {
    let promise: Promise<void> | undefined;
    if (command.target === "newExec") {
      if (
        this.execs.length < 3 &&
        this.trySync("init.assertCanExec", () => {
          this.init.assertCanExec();
        })
      ) {
        this.addExec();
      }
    } else if (command.target === "init") {
      promise = this.#issueInit(command.command);
    } else {
      const exec = this.execs[command.index];
      if (exec !== undefined) promise = this.#issueExec(command.index, exec, command.command);
    }
    this.sample();
    if (promise !== undefined && command.awaited) await promise;
    for (let i = 0; i < command.gapTicks; i += 1) await tick();
    this.sample();
  }

  #issueInit(command: InitCommand): Promise<void> | undefined {
    const init = this.init;
    const label = `init.${command.kind}`;
    switch (command.kind) {
      case "start":
        return this.track(label, init.start());
      case "delete":
        return this.track(label, init.delete());
      case "pause":
        return this.track(label, init.pause());
      case "resume":
        return this.track(label, init.resume());
      case "update":
        return this.track(label, init.update({ memory: { limit: 1 } }));
      case "kill":
        return this.track(`${label}(${command.signal})`, init.kill(command.signal, command.all));
      case "checkpoint":
        return this.track(label, init.checkpoint({ imagePath: "/img", exit: command.exit }));
      case "setExited":
        this.watched[0]?.allowedStatuses.add(command.status);
        return this.track(label, init.setExited(command.status));
      case "stat":
        this.trySync(label, () => {
          init.assertCanStat();
        });
        return undefined;
      case "exec":
        this.trySync(label, () => {
          init.assertCanExec();
        });
        return undefined;
      case "resize":
        this.trySync(label, () => {
          init.assertCanResize();
        });
        return undefined;
    }
  }

  #issueExec(index: number, exec: ExecProcess, command: ExecCommand): Promise<void> {
    const label = `exec${index}.${command.kind}`;
    switch (command.kind) {
      case "start":
        return this.track(label, exec.start());
      case "delete":
        return this.track(label, exec.delete());
      case "closeIO":
        return this.track(label, exec.closeIO());
      case "resize":
        return this.track(label, exec.resize(80, 24));
      case "kill":
        return this.track(`${label}(${command.signal})`, exec.kill(command.signal));
      case "setExited":
        this.watched.find((w) => w.label === `exec${index}`)?.allowedStatuses.add(command.status);
        return this.track(label, exec.setExited(command.status));
    }
  }

  /** Turns the event loop until every operation settled, or gives up (a deadlock). */
  async drain(): Promise<void> {
    for (let turn = 0; turn < 10_000 && this.pending.some((p) => !p.settled); turn += 1) await tick();
    await tick(); // let the wait() callbacks of the last exits run
    const stuck = this.pending.filter((p) => !p.settled).map((p) => p.label);
    if (stuck.length > 0) this.violations.push(`never settled (deadlock): ${stuck.join(", ")}`);
  }

  /** Checks what must hold once everything settled. */
  finalChecks(): void {
    this.sample();
    for (const w of this.watched) {
      const exit = w.process.exit;
      const expected = exit === undefined ? [] : [exit];
      if (w.waitResolutions.length !== expected.length || w.waitResolutions[0] !== exit) {
        this.violations.push(
          `${w.label}: wait() resolved ${w.waitResolutions.length} time(s) for exit ${JSON.stringify(exit)}`,
        );
      }
    }
    const initExitIssued = this.pending.some((p) => p.label.startsWith("init.setExited"));
    if (initExitIssued && this.init.exit === undefined) {
      this.violations.push("init: setExited settled but no exit is recorded");
    }
  }
}

async function runScenario(sandbox: boolean, steps: readonly Step[], commands: readonly Command[]) {
  const scenario = new Scenario(sandbox, steps);
  for (const command of commands) await scenario.issue(command);
  await scenario.drain();
  scenario.finalChecks();
  assert.deepEqual(scenario.violations, [], `violations:\n${scenario.violations.join("\n")}`);
  return scenario;
}

describe("process machines under random operation sequences", () => {
  it("never fail untyped, never move backwards, answer wait once, never deadlock", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(stepArb, { maxLength: 12 }),
        fc.array(commandArb, { minLength: 1, maxLength: 40 }),
        async (sandbox, steps, commands) => {
          await runScenario(sandbox, steps, commands);
        },
      ),
      { numRuns: PROPERTY_RUNS },
    );
  });

  it("reaches every init and exec state across the generated runs (the generator is not degenerate)", async () => {
    const initStates = new Set<string>();
    const execStates = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.array(stepArb, { maxLength: 12 }),
        fc.array(commandArb, { minLength: 1, maxLength: 40 }),
        async (sandbox, steps, commands) => {
          const scenario = new Scenario(sandbox, steps);
          const original = scenario.sample.bind(scenario);
          scenario.sample = () => {
            initStates.add(scenario.init.state);
            for (const exec of scenario.execs) execStates.add(exec.state);
            original();
          };
          for (const command of commands) await scenario.issue(command);
          await scenario.drain();
        },
      ),
      { numRuns: 200, seed: 42 },
    );
    assert.deepEqual([...initStates].sort(), [
      "created",
      "deleted",
      "paused",
      "pausing",
      "running",
      "stopped",
    ]);
    assert.deepEqual([...execStates].sort(), ["created", "deleted", "running", "stopped"]);
  });
});
