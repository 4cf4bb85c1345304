import { describe, expect, it } from "vitest";
import { contactCount, hasBlankCondition, isEmptyRule, memberLabel, parseEmails, ruleProblems } from "./segmentRules";

describe("ruleProblems", () => {
  it("turns the rule's field errors into problems at their paths", () => {
    const problems = ruleProblems({ "rule.all[0].field": ["Unknown field “plan”"], name: ["Already used."], rule: ["Needs a rule."] });
    expect(problems.map((problem) => [problem.field, problem.message])).toEqual([
      ["rule.all[0].field", "Unknown field “plan”"],
      ["rule", "Needs a rule."],
    ]);
  });
  it("answers nothing without fields", () => {
    expect(ruleProblems(undefined)).toEqual([]);
    expect(ruleProblems({ rules: ["not ours"] })).toEqual([]);
  });
});

describe("parseEmails", () => {
  it("reads lines, commas, semicolons and angle brackets, once each", () => {
    expect(parseEmails("ada@shop.test\nbob@shop.test, <cy@shop.test>; ada@SHOP.test\n\nnot-an-email")).toEqual(["ada@shop.test", "bob@shop.test", "cy@shop.test"]);
  });
  it("keeps the local part's case, as contacts do", () => {
    expect(parseEmails("Ada@shop.test ada@shop.test")).toEqual(["Ada@shop.test", "ada@shop.test"]);
  });
  it("answers nothing for blank text", () => {
    expect(parseEmails("  \n ")).toEqual([]);
  });
});

describe("labels", () => {
  it("names a member by name, email, user id", () => {
    expect(memberLabel({ id: 1, name: "Ada", email: "a@x.test", user_id: "u1" })).toBe("Ada");
    expect(memberLabel({ id: 1, name: "", email: "a@x.test", user_id: "u1" })).toBe("a@x.test");
    expect(memberLabel({ id: 1, name: "", email: "", user_id: null })).toBe("Contact 1");
  });
  it("counts contacts", () => {
    expect(contactCount(1)).toBe("1 contact");
    expect(contactCount(1204)).toBe("1,204 contacts");
  });
  it("knows an empty rule", () => {
    expect(isEmptyRule({})).toBe(true);
    expect(isEmptyRule({ all: [] })).toBe(true);
    expect(isEmptyRule({ any: [] })).toBe(false);
    expect(isEmptyRule({ field: "contact.traits.plan", op: "eq", value: "pro" })).toBe(false);
  });
});

describe("hasBlankCondition", () => {
  it("finds a condition not filled in, at any depth", () => {
    expect(hasBlankCondition({ all: [{ field: "contact.country", op: "eq", value: "DE" }, { any: [{ field: "", op: "eq", value: "" }] }] })).toBe(true);
    expect(hasBlankCondition({ not: { any: [{ performed: "", count: { gte: 1 } }] } })).toBe(true);
  });
  it("passes a filled-in rule, whose event filters are the event's own", () => {
    expect(hasBlankCondition({ all: [{ field: "contact.traits.plan", op: "eq", value: "pro" }, { performed: "Order Completed", where: { all: [] } }] })).toBe(false);
    expect(hasBlankCondition({})).toBe(false);
  });
});
