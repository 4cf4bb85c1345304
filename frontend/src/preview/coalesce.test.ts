import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Coalescer, MAX_WAIT_MS } from "./coalesce";

/** A coalescer whose sends are recorded; each send's token is its sequence number (1, 2, ...). */
function make(options: { maxWaitMs?: number; debounceMs?: number } = {}) {
  const sent: string[] = [];
  const coalescer = new Coalescer<string>((value) => {
    sent.push(value);
    return sent.length;
  }, options);
  return { sent, coalescer };
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("Coalescer (leading edge, then the newest)", () => {
  it("sends the first change at once, without waiting for a timer", () => {
    const { sent, coalescer } = make();
    coalescer.push("a");
    expect(sent).toEqual(["a"]);
    expect(coalescer.inFlightToken).toBe(1);
  });

  it("keeps only the newest change while one is in flight and sends it when the answer arrives", () => {
    const { sent, coalescer } = make();
    coalescer.push("a");
    coalescer.push("ab");
    coalescer.push("abc");
    coalescer.push("abcd");
    expect(sent).toEqual(["a"]);
    expect(coalescer.waiting).toBe(true);
    coalescer.answered(1);
    expect(sent).toEqual(["a", "abcd"]);
    expect(coalescer.waiting).toBe(false);
    expect(coalescer.inFlightToken).toBe(2);
  });

  it("never has more than one change in flight while the answers come in time", () => {
    const { sent, coalescer } = make();
    let inFlight = 0;
    let most = 0;
    const answers: number[] = [];
    for (let key = 1; key <= 50; key += 1) {
      coalescer.push("x".repeat(key));
      inFlight = sent.length - answers.length;
      most = Math.max(most, inFlight);
      vi.advanceTimersByTime(30); // a keystroke every 30 ms
      if (key % 2 === 0 && sent.length > answers.length) {
        answers.push(sent.length); // the server answers every 60 ms
        coalescer.answered(sent.length);
      }
    }
    expect(most).toBe(1);
    expect(sent.length).toBeLessThan(50);
    coalescer.answered(sent.length);
    expect(sent.at(-1)).toBe("x".repeat(50)); // the last change is never lost
  });

  it("sends a change made after the answer at once again (a new burst)", () => {
    const { sent, coalescer } = make();
    coalescer.push("a");
    coalescer.answered(1);
    vi.advanceTimersByTime(1000);
    coalescer.push("b");
    expect(sent).toEqual(["a", "b"]);
  });

  it("ignores the answer to an older change", () => {
    const { sent, coalescer } = make();
    coalescer.push("a");
    coalescer.push("ab");
    coalescer.answered(0);
    expect(sent).toEqual(["a"]);
    coalescer.answered(5); // an answer for a newer edit than ours answers ours too
    expect(sent).toEqual(["a", "ab"]);
  });

  it("sends the newest after the longest wait when no answer comes", () => {
    const { sent, coalescer } = make({ maxWaitMs: 200 });
    coalescer.push("a");
    coalescer.push("ab");
    vi.advanceTimersByTime(199);
    expect(sent).toEqual(["a"]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual(["a", "ab"]);
    expect(coalescer.inFlightToken).toBe(2);
    coalescer.answered(1); // the late answer to the first: the second is still awaited
    coalescer.push("abc");
    expect(sent).toEqual(["a", "ab"]);
    coalescer.answered(2);
    expect(sent).toEqual(["a", "ab", "abc"]);
  });

  it("stops waiting for a lost answer even when nothing is pending", () => {
    const { sent, coalescer } = make();
    coalescer.push("a");
    vi.advanceTimersByTime(MAX_WAIT_MS);
    expect(coalescer.inFlightToken).toBeNull();
    coalescer.push("b");
    expect(sent).toEqual(["a", "b"]);
  });

  it("forgets what was in flight and waiting when the connection is replaced", () => {
    const { sent, coalescer } = make();
    coalescer.push("a");
    coalescer.push("ab");
    coalescer.reset();
    vi.advanceTimersByTime(MAX_WAIT_MS * 2);
    expect(sent).toEqual(["a"]);
    coalescer.push("abc");
    expect(sent).toEqual(["a", "abc"]);
  });
});

describe("Coalescer with debounceMs (the earlier behaviour, for the bench's baseline)", () => {
  it("waits for a pause of debounceMs and sends only the newest", () => {
    const { sent, coalescer } = make({ debounceMs: 120 });
    coalescer.push("a");
    vi.advanceTimersByTime(100);
    coalescer.push("ab");
    vi.advanceTimersByTime(119);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual(["ab"]);
  });

  it("does not wait for answers", () => {
    const { sent, coalescer } = make({ debounceMs: 120 });
    coalescer.push("a");
    vi.advanceTimersByTime(120);
    coalescer.push("b");
    vi.advanceTimersByTime(120);
    expect(sent).toEqual(["a", "b"]);
    coalescer.answered(2);
    expect(sent).toEqual(["a", "b"]);
  });
});
