/**
 * When the editor's drafts go to the preview server: leading edge, then coalescing.
 *
 * - The first change of a burst is sent at once.
 * - While it is in flight (sent, its answer not back), newer changes only replace one another: the
 *   newest is kept, the others are never sent.
 * - When the answer arrives, the newest kept change goes out (and is in flight in turn).
 * - An answer that does not come within `maxWaitMs` (lost, or a very slow render) no longer holds
 *   the newest back: it is sent then. So one edit is in flight at a time, per session, unless the
 *   server is slower than `maxWaitMs`; the server renders the newest it has either way.
 *
 * `debounceMs` is the earlier behaviour (each change waits that long for a quieter moment; no
 * answer awaited), kept for bench/preview_browser.py's baseline (`?preview=debounce`).
 *
 * Pure scheduling: no React, no socket; the clock comes in (fake timers in coalesce.test.ts).
 */

export interface Clock {
  setTimeout: (callback: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

const realClock: Clock = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface CoalesceOptions {
  /** how long an answer may take before the newest change goes out anyway */
  maxWaitMs?: number;
  /** the earlier behaviour instead: trailing debounce of this many ms, answers not awaited */
  debounceMs?: number;
  clock?: Clock;
}

/** Long enough for ten frames to load on a busy machine, short enough for a lost answer. */
export const MAX_WAIT_MS = 500;

/**
 * `send(value)` sends one change and returns its token (the edit's sequence number); the token
 * of an answer (`answered(token)`) says which change it answers: it releases the change in flight
 * if it answers that one or a newer one.
 */
export class Coalescer<T> {
  private inFlight: number | null = null;
  private pending: { value: T } | null = null;
  private timer: unknown = null;
  private readonly clock: Clock;
  private readonly maxWaitMs: number;
  private readonly debounceMs: number | null;

  constructor(
    private readonly send: (value: T) => number,
    options: CoalesceOptions = {},
  ) {
    this.clock = options.clock ?? realClock;
    this.maxWaitMs = options.maxWaitMs ?? MAX_WAIT_MS;
    this.debounceMs = options.debounceMs ?? null;
  }

  /** A new change from the editor. */
  push(value: T): void {
    if (this.debounceMs !== null) {
      this.pending = { value };
      this.stopTimer();
      this.timer = this.clock.setTimeout(() => {
        this.timer = null;
        this.flush();
      }, this.debounceMs);
      return;
    }
    this.pending = { value };
    if (this.inFlight === null) this.flush();
  }

  /** The answer to the change with this token (or a newer one) arrived. */
  answered(token: number): void {
    if (this.debounceMs !== null || this.inFlight === null || token < this.inFlight) return;
    this.inFlight = null;
    this.stopTimer();
    if (this.pending) this.flush();
  }

  /** The connection was replaced: nothing is in flight on it, nothing waits. */
  reset(): void {
    this.inFlight = null;
    this.pending = null;
    this.stopTimer();
  }

  /** A change waits to be sent. */
  get waiting(): boolean {
    return this.pending !== null;
  }

  /** The token of the change in flight, if any. */
  get inFlightToken(): number | null {
    return this.inFlight;
  }

  private flush() {
    const next = this.pending;
    if (!next) return;
    this.pending = null;
    const token = this.send(next.value);
    if (this.debounceMs !== null) return;
    this.inFlight = token;
    this.stopTimer();
    this.timer = this.clock.setTimeout(() => {
      // No answer in time: stop waiting for it.
      this.timer = null;
      this.inFlight = null;
      this.flush();
    }, this.maxWaitMs);
  }

  private stopTimer() {
    if (this.timer !== null) {
      this.clock.clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
