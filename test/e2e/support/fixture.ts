/**
 * The per-file set-up every scenario file shares: a private containerd started in `before`, optionally an event
 * watcher, and the full teardown in `after` — registered once, so a file cannot forget its cleanup.
 */
import { after, before } from "node:test";
import { type Containerd, type StartContainerdOptions, startContainerd } from "./containerd.js";
import { type EventStream, events } from "./events.js";

/** Options for {@link useContainerd}. */
export interface FixtureOptions extends StartContainerdOptions {
  /** Start a `ctr events` watcher once containerd is up (default true). */
  readonly events?: boolean;
}

/** Access to the file's containerd and event stream; each getter throws if `before` has not run (or failed). */
export interface E2eFixture {
  readonly containerd: Containerd;
  readonly stream: EventStream;
  /** {@link Containerd.diagnose} of this file's containerd. */
  diagnose<T>(fn: () => Promise<T>): Promise<T>;
}

/** Registers `before`/`after` hooks in the current suite and returns the fixture they fill. */
export function useContainerd(options: FixtureOptions = {}): E2eFixture {
  let containerd: Containerd | undefined;
  let stream: EventStream | undefined;
  before(async () => {
    containerd = await startContainerd(options);
    if (options.events ?? true) stream = await events(containerd);
  });
  after(async () => {
    await stream?.close();
    await containerd?.stop();
  });
  const fixture: E2eFixture = {
    get containerd(): Containerd {
      if (containerd === undefined)
        throw new Error("the file's containerd is not running (did before() fail?)");
      return containerd;
    },
    get stream(): EventStream {
      if (stream === undefined) throw new Error("no event stream (fixture started with events: false?)");
      return stream;
    },
    diagnose: (fn) => fixture.containerd.diagnose(fn),
  };
  return fixture;
}
