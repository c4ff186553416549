/**
 * Lifecycle events a Supervisor publishes, in one total order per supervisor. Guarantees (tested):
 * - `create` first; `start` after `create`; a process's `exit` after its `start` / `exec-started`, exactly once;
 * - `oom` before the `exit` of the init it killed;
 * - a container's exec exits before its init exit;
 * - `delete` after the init's `exit` (or after `create` when it never started);
 * - `exit` comes after the process's stdout/stderr have drained (bounded by the supervisor's drain timeout).
 *
 * containerd counterpart: the `containerd.events.Task*` messages of api/events/task.proto (the shim maps 1:1).
 */
import { EventEmitter, on } from "node:events";

export type LifecycleEvent =
  | { readonly type: "create"; readonly containerId: string; readonly bundle: string; readonly pid: number }
  | { readonly type: "start"; readonly containerId: string; readonly pid: number }
  | {
      readonly type: "exit";
      readonly containerId: string;
      /** The container id for the init, the exec id for an exec. */
      readonly id: string;
      readonly execId: string | undefined;
      readonly pid: number;
      readonly status: number;
      readonly exitedAt: Date;
    }
  | {
      readonly type: "delete";
      readonly containerId: string;
      readonly pid: number;
      readonly status: number;
      readonly exitedAt: Date | undefined;
    }
  | { readonly type: "oom"; readonly containerId: string }
  | { readonly type: "exec-added"; readonly containerId: string; readonly execId: string }
  | {
      readonly type: "exec-started";
      readonly containerId: string;
      readonly execId: string;
      readonly pid: number;
    }
  | { readonly type: "paused"; readonly containerId: string }
  | { readonly type: "resumed"; readonly containerId: string }
  | { readonly type: "checkpointed"; readonly containerId: string; readonly imagePath: string };

export type LifecycleEventType = LifecycleEvent["type"];

/** The ordered event stream: synchronous emission, so listeners see events in publication order. */
export class EventStream {
  readonly #emitter = new EventEmitter();

  constructor() {
    // Many subscribers (a shim publisher, tests, metrics) are normal; this is not a leak.
    this.#emitter.setMaxListeners(0);
  }

  publish(event: LifecycleEvent): void {
    this.#emitter.emit("event", event);
  }

  /** Calls `listener` for every later event; returns the unsubscribe function. */
  subscribe(listener: (event: LifecycleEvent) => void): () => void {
    this.#emitter.on("event", listener);
    return () => this.#emitter.off("event", listener);
  }

  /** Every later event as an async iterator (buffered, nothing lost while the consumer awaits). */
  async *iterate(signal?: AbortSignal): AsyncGenerator<LifecycleEvent> {
    const options = signal === undefined ? {} : { signal };
    try {
      for await (const [event] of on(this.#emitter, "event", options)) {
        yield event as LifecycleEvent;
      }
    } catch (error) {
      if (signal?.aborted === true) return;
      throw error;
    }
  }
}
