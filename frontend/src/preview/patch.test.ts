import { describe, expect, it } from "vitest";
import { expandVariant, type Bases, type VariantMessage } from "./patch";

const head = { subject_key: "persona:1", seq: 1, generation: 1, ok: true, subject: "Hi", preheader: "", blocks: [], warnings: [] };

describe("expandVariant", () => {
  it("takes a whole variant, then patches to it", () => {
    const bases: Bases = new Map();
    const first = expandVariant({ ...head, html: "<p>Hello 👋 there</p>", text: "Hello" } as VariantMessage, bases);
    expect(first?.html).toBe("<p>Hello 👋 there</p>");
    // "there" becomes "you": UTF-16 offsets, the emoji counting two
    const second = expandVariant({ ...head, seq: 2, html_patch: [12, 17, "you", 21], text_patch: [5, 5, "!", 5] }, bases);
    expect(second?.html).toBe("<p>Hello 👋 you</p>");
    expect(second?.text).toBe("Hello!");
    expect(second && "html_patch" in second).toBe(false);
    expect(bases.get("persona:1")).toEqual({ html: "<p>Hello 👋 you</p>", text: "Hello!" });
  });

  it("refuses a patch that does not fit what it has", () => {
    const bases: Bases = new Map();
    expect(expandVariant({ ...head, html_patch: [0, 0, "x", 0], text_patch: [0, 0, "", 0] }, bases)).toBeNull(); // nothing received yet
    expandVariant({ ...head, html: "abc", text: "" } as VariantMessage, bases);
    expect(expandVariant({ ...head, html_patch: [0, 1, "x", 4], text_patch: [0, 0, "", 0] }, bases)).toBeNull(); // other length
    expect(expandVariant({ ...head, html_patch: [2, 1, "x", 3], text_patch: [0, 0, "", 0] }, bases)).toBeNull(); // backwards
    expect(bases.get("persona:1")?.html).toBe("abc"); // untouched
  });
});
