/**
 * The person's terminal while a container's pty is attached: raw mode for our stdin when it is forwarded (so keys,
 * ^C included, reach the container's own line discipline), and the window size passed on at start and on every
 * SIGWINCH ('resize').
 *
 * containerd counterpart: `ctr`'s `console.Current().SetRaw()` / `Reset()` and `tasks.HandleConsoleResize`.
 */
/** Options of {@link attachTerminal}. */
export interface TerminalOptions {
  /** Put our stdin into raw mode (only when it is a TTY and is forwarded). */
  readonly raw: boolean;
  /** Sends a size (columns, rows) to the container's pty; failures are ignored after the first. */
  readonly resize: (width: number, height: number) => Promise<unknown>;
  readonly input?: NodeJS.ReadStream;
  readonly output?: NodeJS.WriteStream;
}

/** An attached terminal. {@link AttachedTerminal.restore} must run on every exit path (it is idempotent). */
export interface AttachedTerminal {
  /** Sends the current size once; rejects when the daemon refuses it. */
  sendSize(): Promise<void>;
  /** Starts following size changes of our terminal. */
  followResizes(): void;
  /** Leaves raw mode and stops following resizes. Synchronous, so it also works in an 'exit' handler. */
  restore(): void;
}

/** Attaches to our terminal; a no-op for whatever part is not a TTY. */
export function attachTerminal(options: TerminalOptions): AttachedTerminal {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const inputTty = input.isTTY ? input : undefined;
  const outputTty = output.isTTY ? output : undefined;
  let raw = false;
  if (options.raw && inputTty !== undefined) {
    inputTty.setRawMode(true);
    raw = true;
  }
  const size = (): { width: number; height: number } | undefined =>
    outputTty === undefined ? undefined : { width: outputTty.columns, height: outputTty.rows };
  const onResize = (): void => {
    const current = size();
    if (current !== undefined) void options.resize(current.width, current.height).catch(() => undefined);
  };
  let following = false;
  const restore = (): void => {
    if (following) {
      outputTty?.off("resize", onResize);
      following = false;
    }
    if (raw) {
      raw = false;
      try {
        inputTty?.setRawMode(false);
      } catch {
        // our terminal is gone (hang-up): nothing to restore
      }
    }
  };
  process.once("exit", restore);
  return {
    async sendSize() {
      const current = size();
      if (current !== undefined) await options.resize(current.width, current.height);
    },
    followResizes() {
      if (outputTty === undefined || following) return;
      following = true;
      outputTty.on("resize", onResize);
    },
    restore,
  };
}
