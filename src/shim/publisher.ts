/**
 * Forwards task events to containerd: one ordered queue, one sender, `containerd.services.events.ttrpc.v1.Events/
 * Forward` on a ttrpc connection to TTRPC_ADDRESS with the namespace in metadata and bare type URLs. An event is sent
 * only after the previous one was acknowledged, so containerd sees them in husk's order. Failures reconnect and retry
 * with a capped back-off for as long as it takes (containerd may be restarting); only when the queue exceeds its bound
 * is the oldest event dropped, loudly.
 *
 * containerd counterpart: runtime/v2/shim/publisher.go (which gives up after 5 tries, ~15 s).
 */
import { create, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { EventsService, ForwardRequestSchema, packAny } from "../api/index.js";
import type { Logger } from "../log.js";
import { createTtrpcClient, type TtrpcClient } from "../ttrpc/index.js";

/** containerd's metadata key for the namespace on ttrpc calls. */
export const NAMESPACE_METADATA_KEY = "containerd-namespace-ttrpc";
const FORWARD_TIMEOUT_MS = 5000;
const MAX_BACKOFF_MS = 5000;
const MAX_QUEUED = 10_000;

export interface PublisherOptions {
  /** containerd's ttrpc socket (TTRPC_ADDRESS; a `unix://` prefix is accepted). */
  readonly address: string;
  readonly namespace: string;
  readonly log: Logger;
}

/** One event to forward. */
export interface OutgoingEvent {
  readonly topic: string;
  readonly schema: DescMessage;
  readonly message: MessageInitShape<DescMessage>;
}

export interface EventPublisher {
  /** Queues an event; never blocks, never throws. */
  publish(topic: string, schema: DescMessage, message: MessageInitShape<DescMessage>): void;
  /** Events not yet acknowledged by containerd. */
  readonly pending: number;
  /** Waits until the queue is empty (at most `timeoutMs`), then disconnects. */
  close(timeoutMs: number): Promise<void>;
}

export function createEventPublisher(options: PublisherOptions): EventPublisher {
  return new QueuedPublisher(options);
}

interface Queued {
  readonly topic: string;
  readonly event: ReturnType<typeof packAny>;
  readonly timestamp: Date;
}

class QueuedPublisher implements EventPublisher {
  readonly #options: PublisherOptions;
  readonly #path: string;
  readonly #queue: Queued[] = [];
  #client: TtrpcClient | undefined;
  #sending = false;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(options: PublisherOptions) {
    this.#options = options;
    this.#path = options.address.replace(/^unix:\/\//, "");
  }

  get pending(): number {
    return this.#queue.length;
  }

  publish(topic: string, schema: DescMessage, message: MessageInitShape<DescMessage>): void {
    if (this.#closed) return;
    // Stamp and encode now: the envelope's time is when it happened, not when containerd was reachable again.
    this.#queue.push({ topic, event: packAny(schema, create(schema, message)), timestamp: new Date() });
    if (this.#queue.length > MAX_QUEUED) {
      const dropped = this.#queue.shift();
      this.#options.log.error({ topic: dropped?.topic }, "event queue full: dropping the oldest event");
    }
    if (!this.#sending) void this.#drain();
  }

  async close(timeoutMs: number): Promise<void> {
    if (this.#queue.length > 0) {
      await Promise.race([
        new Promise<void>((resolve) => this.#idle.push(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]);
    }
    this.#closed = true;
    if (this.#queue.length > 0) {
      this.#options.log.warn({ pending: this.#queue.length }, "events not delivered before shutdown");
    }
    void this.#client?.close();
    this.#client = undefined;
  }

  async #drain(): Promise<void> {
    this.#sending = true;
    let failures = 0;
    while (this.#queue.length > 0 && !this.#closed) {
      const next = this.#queue[0];
      if (next === undefined) break;
      try {
        await this.#forward(next);
        this.#queue.shift();
        failures = 0;
      } catch (error) {
        failures++;
        void this.#client?.close();
        this.#client = undefined;
        const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(failures, 5));
        this.#options.log.warn(
          { err: error, topic: next.topic, failures, retryInMs: delay },
          "event forward failed",
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    this.#sending = false;
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  async #forward(item: Queued): Promise<void> {
    this.#client ??= await createTtrpcClient(this.#path, { connectTimeoutMs: FORWARD_TIMEOUT_MS });
    await this.#client.service(EventsService).forward(
      create(ForwardRequestSchema, {
        envelope: {
          timestamp: timestampFromDate(item.timestamp),
          namespace: this.#options.namespace,
          topic: item.topic,
          event: item.event,
        },
      }),
      { timeoutMs: FORWARD_TIMEOUT_MS, metadata: { [NAMESPACE_METADATA_KEY]: this.#options.namespace } },
    );
    this.#options.log.debug({ topic: item.topic }, "event forwarded");
  }
}
