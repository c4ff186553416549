/**
 * Watching containerd's event stream through `ctr events`, which prints one line per event:
 * `<Go time.Time> <namespace> <topic> <event as JSON>` (e.g.
 * `2026-11-30 03:17:57.3 +0000 UTC ns1 /tasks/exit {"container_id":"t1","id":"t1","pid":6202,"exit_status":3,…}`).
 * Zero-valued fields are omitted from the JSON (Go protobuf JSON), so an exit status of 0 has no `exit_status`.
 * Counterpart: containerd `cmd/ctr/commands/events/events.go`.
 */
import type { CtrProcess } from "./ctr.js";

/** One parsed event line. */
export interface ContainerdEvent {
  /** containerd's envelope timestamp as ctr printed it. */
  readonly timestamp: string;
  readonly namespace: string;
  readonly topic: string;
  /** The decoded event payload (snake_case keys, zero values omitted). */
  readonly event: Readonly<Record<string, unknown>>;
  /** The raw line. */
  readonly line: string;
}

/** The subset of the containerd harness the watcher needs (kept structural to avoid an import cycle). */
export interface EventSource {
  readonly namespace: string;
  ctrSpawn(args: readonly string[]): CtrProcess;
  ctr(args: readonly string[]): Promise<{ status: number | null; stderr: string }>;
}

/** A running `ctr events` with everything it has printed so far. */
export interface EventStream {
  /** Parsed events in arrival order. */
  readonly all: readonly ContainerdEvent[];
  /** Lines that did not parse (e.g. ctr's own error messages). */
  readonly unparsed: readonly string[];
  /**
   * Resolves with the first event (already seen or future) matching `predicate`; rejects after `timeoutMs` or when
   * `ctr events` exits, naming `what` and listing the events seen.
   */
  waitFor(
    predicate: (event: ContainerdEvent) => boolean,
    timeoutMs?: number,
    what?: string,
  ): Promise<ContainerdEvent>;
  /** Topics of the `/tasks/*` and `/containers/*` events about container `id` in the watched namespace, in order. */
  topicsFor(id: string): string[];
  /**
   * Compact labels for the task events of container `id`: `create`, `start`, `exec-added:E`, `exec-started:E`,
   * `exit:P` (P = exec id, or the container id for init), `paused`, `resumed`, `oom`, `delete`.
   */
  taskSequence(id: string): string[];
  /** The events about container `id` in the watched namespace. */
  eventsFor(id: string): ContainerdEvent[];
  /** Calls `listener` for every event parsed from now on; returns an unsubscribe function. */
  subscribe(listener: (event: ContainerdEvent) => void): () => void;
  /** A readable dump of the recent events, for assertion messages. */
  describe(limit?: number): string;
  /** Stops `ctr events` (by pid). Idempotent. */
  close(): Promise<void>;
}

/** Default wait for one event; generous, not a timing assertion. */
export const DEFAULT_EVENT_TIMEOUT_MS = 60_000;

const LINE_PATTERN =
  /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? [+-]\d{4} \S+) (\S+) (\/\S*)(?: (.*))?$/;

/** Parses one `ctr events` line, or returns undefined for anything else. */
export function parseEventLine(line: string): ContainerdEvent | undefined {
  const match = LINE_PATTERN.exec(line);
  if (match === null) return undefined;
  const [, timestamp = "", namespace = "", topic = "", json] = match;
  let event: Record<string, unknown> = {};
  if (json !== undefined && json !== "") {
    try {
      const parsed: unknown = JSON.parse(json);
      if (typeof parsed === "object" && parsed !== null) event = parsed as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  return { timestamp, namespace, topic, event, line };
}

/** A string field of an event payload ("" when absent). */
export function stringField(event: ContainerdEvent, key: string): string {
  const value = event.event[key];
  return typeof value === "string" ? value : "";
}

/** A numeric field of an event payload (0 when absent, as protobuf JSON omits zero values). */
export function numberField(event: ContainerdEvent, key: string): number {
  const value = event.event[key];
  return typeof value === "number" ? value : 0;
}

/** The container an event is about: `container_id` for task events, `id` for container events. */
export function containerOf(event: ContainerdEvent): string {
  if (event.topic.startsWith("/containers/")) return stringField(event, "id");
  return stringField(event, "container_id");
}

/** Label used by {@link EventStream.taskSequence}. */
export function taskLabel(event: ContainerdEvent): string {
  const name = event.topic.slice("/tasks/".length);
  if (name === "exec-added" || name === "exec-started") return `${name}:${stringField(event, "exec_id")}`;
  if (name === "exit") return `exit:${stringField(event, "id")}`;
  return name;
}

let probeCounter = 0;

/**
 * Starts `ctr events` against the harness's containerd and resolves once it is subscribed: it labels the namespace
 * with a fresh probe value and waits for that `/namespaces/update` event, so no later event can be missed.
 * `ctr events` prints every namespace; the stream keeps them all but its per-container helpers look at the watched
 * namespace only. The stream ends when containerd stops (start a new one after a restart).
 */
export async function events(
  source: EventSource,
  options: { readonly readyTimeoutMs?: number } = {},
): Promise<EventStream> {
  const handle = source.ctrSpawn(["events"]);
  const all: ContainerdEvent[] = [];
  const unparsed: string[] = [];
  const listeners = new Set<() => void>();
  const subscribers = new Set<(event: ContainerdEvent) => void>();
  const state = { ended: false };
  let pending = "";

  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };
  handle.child.stdout.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      const parsed = parseEventLine(line);
      if (parsed === undefined) {
        if (line.trim() !== "") unparsed.push(line);
      } else {
        all.push(parsed);
        for (const subscriber of [...subscribers]) subscriber(parsed);
      }
      newline = pending.indexOf("\n");
    }
    notify();
  });
  void handle.exited.then(() => {
    state.ended = true;
    notify();
  });

  const mine = (id: string): ContainerdEvent[] =>
    all.filter((e) => e.namespace === source.namespace && containerOf(e) === id);

  const describe = (limit = 40): string => {
    const lines = all.slice(-limit).map((e) => e.line);
    const tail = [...lines, ...unparsed.slice(-5).map((l) => `(unparsed) ${l}`)];
    const stderr = handle.stderrText().trim();
    return `${tail.join("\n")}${stderr === "" ? "" : `\n(ctr events stderr) ${stderr}`}`;
  };

  const waitFor = (
    predicate: (event: ContainerdEvent) => boolean,
    timeoutMs = DEFAULT_EVENT_TIMEOUT_MS,
    what = "a matching event",
  ): Promise<ContainerdEvent> =>
    new Promise((resolve, reject) => {
      let scanned = 0;
      const check = (): void => {
        for (; scanned < all.length; scanned++) {
          const event = all[scanned];
          if (event !== undefined && predicate(event)) {
            finish();
            resolve(event);
            return;
          }
        }
        if (state.ended) {
          finish();
          reject(new Error(`ctr events ended before ${what} arrived; events seen:\n${describe()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; events seen:\n${describe()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });

  const stream: EventStream = {
    all,
    unparsed,
    waitFor,
    topicsFor: (id) => mine(id).map((e) => e.topic),
    taskSequence: (id) =>
      mine(id)
        .filter((e) => e.topic.startsWith("/tasks/"))
        .map(taskLabel),
    eventsFor: mine,
    subscribe(listener) {
      subscribers.add(listener);
      return () => subscribers.delete(listener);
    },
    describe,
    close: () => handle.stop(),
  };

  try {
    // Label the namespace until one of our probe values comes back: a label published before ctr subscribed is lost.
    const tokens = new Set<string>();
    const labelled = waitFor(
      (e) => {
        const labels = e.event.labels as Record<string, unknown> | undefined;
        const value = labels?.["husk.e2e.probe"];
        return e.topic === "/namespaces/update" && typeof value === "string" && tokens.has(value);
      },
      options.readyTimeoutMs ?? DEFAULT_EVENT_TIMEOUT_MS,
      "the subscription probe",
    );
    const probe = { seen: false };
    labelled.then(
      () => {
        probe.seen = true;
      },
      () => undefined,
    );
    for (let attempt = 1; !probe.seen && !state.ended; attempt++) {
      probeCounter += 1;
      const token = `${process.pid}-${probeCounter}`;
      tokens.add(token);
      const result = await source.ctr(["namespaces", "label", source.namespace, `husk.e2e.probe=${token}`]);
      if (result.status !== 0) throw new Error(`ctr namespaces label failed: ${result.stderr}`);
      await Promise.race([
        labelled,
        new Promise((resolve) => setTimeout(resolve, 100 * Math.min(attempt, 10))),
      ]);
    }
    await labelled;
  } catch (error) {
    await handle.stop();
    throw error;
  }
  return stream;
}
