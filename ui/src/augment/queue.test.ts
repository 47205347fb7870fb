import { describe, expect, it } from "vitest";
import type { SyntheticItem } from "../bindings";
import type { KeyContext, KeyInput } from "./queue";
import { afterDecision, countsLine, editProblem, keyAction, moveIndex, strataChips } from "./queue";

const ctx = (over: Partial<KeyContext> = {}): KeyContext => ({ mode: "browse", count: 3, busy: false, ...over });
const key = (k: string, over: Partial<KeyInput> = {}): KeyInput => ({ key: k, target: "other", ...over });

const item = (id: string, over: Partial<SyntheticItem> = {}): SyntheticItem => ({
  external_id: id,
  kind: "question",
  category: "treatment",
  text: `Text of ${id}`,
  answer: `Answer of ${id}`,
  strata: { site: "palmar", intent: "treatment_options" },
  facts: [],
  review_status: "pending",
  reviewed_by: null,
  review_note: null,
  run_id: 1,
  provenance: "",
  revisions: [],
  ...over,
});

describe("browsing the queue", () => {
  it.each([
    ["a", { type: "approve" }],
    ["A", { type: "approve" }],
    ["e", { type: "start-edit" }],
    ["E", { type: "start-edit" }],
    ["r", { type: "start-reject" }],
    ["R", { type: "start-reject" }],
    ["j", { type: "move", by: 1 }],
    ["J", { type: "move", by: 1 }],
    ["ArrowDown", { type: "move", by: 1 }],
    ["ArrowRight", { type: "move", by: 1 }],
    ["k", { type: "move", by: -1 }],
    ["ArrowUp", { type: "move", by: -1 }],
    ["ArrowLeft", { type: "move", by: -1 }],
    ["?", { type: "toggle-shortcuts" }],
    ["x", null],
    ["Enter", null],
    ["Escape", null],
  ])("key %s → %o", (k, expected) => {
    expect(keyAction(key(k), ctx())).toEqual(expected);
  });

  it("typing in a field never decides; Esc leaves the field", () => {
    for (const k of ["a", "e", "r", "j", "?", "Enter"]) expect(keyAction(key(k, { target: "text" }), ctx())).toBeNull();
    expect(keyAction(key("Escape", { target: "text" }), ctx())).toEqual({ type: "leave-text" });
  });

  it("modified keys keep their browser meaning", () => {
    expect(keyAction(key("a", { ctrlKey: true }), ctx())).toBeNull();
    expect(keyAction(key("r", { metaKey: true }), ctx())).toBeNull();
    expect(keyAction(key("e", { altKey: true }), ctx())).toBeNull();
  });

  it("an empty queue decides nothing and a single item does not move", () => {
    expect(keyAction(key("a"), ctx({ count: 0 }))).toBeNull();
    expect(keyAction(key("e"), ctx({ count: 0 }))).toBeNull();
    expect(keyAction(key("j"), ctx({ count: 1 }))).toBeNull();
    expect(keyAction(key("a"), ctx({ count: 1 }))).toEqual({ type: "approve" });
  });

  it("no second decision while one is on its way", () => {
    expect(keyAction(key("a"), ctx({ busy: true }))).toBeNull();
    expect(keyAction(key("r"), ctx({ busy: true }))).toBeNull();
    expect(keyAction(key("j"), ctx({ busy: true }))).toEqual({ type: "move", by: 1 });
  });
});

describe("editing", () => {
  const editing = ctx({ mode: "edit" });
  it("Ctrl+Enter (or Cmd+Enter) saves, Esc cancels, everything else types", () => {
    expect(keyAction(key("Enter", { target: "text", ctrlKey: true }), editing)).toEqual({ type: "save-edit" });
    expect(keyAction(key("Enter", { target: "text", metaKey: true }), editing)).toEqual({ type: "save-edit" });
    expect(keyAction(key("Escape", { target: "text" }), editing)).toEqual({ type: "cancel" });
    for (const k of ["Enter", "a", "r", "j", "ArrowDown"]) expect(keyAction(key(k, { target: "text" }), editing)).toBeNull();
    expect(keyAction(key("Enter", { target: "text", ctrlKey: true, altKey: true }), editing)).toBeNull();
  });
  it("saving waits for the last decision", () => {
    expect(keyAction(key("Enter", { ctrlKey: true }), ctx({ mode: "edit", busy: true }))).toBeNull();
  });
});

describe("rejecting", () => {
  const rejecting = ctx({ mode: "reject" });
  it("Enter confirms the reason, Esc cancels, Shift+Enter and letters type", () => {
    expect(keyAction(key("Enter", { target: "text" }), rejecting)).toEqual({ type: "confirm-reject" });
    expect(keyAction(key("Escape", { target: "text" }), rejecting)).toEqual({ type: "cancel" });
    expect(keyAction(key("Enter", { target: "text", shiftKey: true }), rejecting)).toBeNull();
    expect(keyAction(key("a", { target: "text" }), rejecting)).toBeNull();
    expect(keyAction(key("Enter", { target: "text" }), ctx({ mode: "reject", busy: true }))).toBeNull();
  });
});

describe("the queue's position", () => {
  it.each([
    [0, 1, 3, 1],
    [2, 1, 3, 0],
    [0, -1, 3, 2],
    [1, -1, 3, 0],
    [0, 1, 0, 0],
  ])("from %i by %i of %i → %i", (index, by, count, expected) => {
    expect(moveIndex(index, by, count)).toBe(expected);
  });

  const list = [item("syn-1-0"), item("syn-1-1"), item("syn-1-2")];
  it.each([
    ["the current item leaves; the next one shows", 1, "syn-1-1", ["syn-1-0", "syn-1-2"], 1],
    ["the last item leaves; the new last one shows", 2, "syn-1-2", ["syn-1-0", "syn-1-1"], 1],
    ["an earlier item leaves; the current one stays", 2, "syn-1-0", ["syn-1-1", "syn-1-2"], 1],
    ["an unknown id changes nothing", 1, "syn-9-9", ["syn-1-0", "syn-1-1", "syn-1-2"], 1],
  ])("%s", (_, index, id, ids, expected) => {
    const next = afterDecision(list, index, id);
    expect(next.items.map((i) => i.external_id)).toEqual(ids);
    expect(next.index).toBe(expected);
  });
  it("the queue empties", () => {
    expect(afterDecision([item("syn-1-0")], 0, "syn-1-0")).toEqual({ items: [], index: 0 });
  });
});

describe("helpers", () => {
  it("an edit needs both fields and a change", () => {
    const i = item("syn-1-0");
    expect(editProblem(i, "", "x")).toMatch(/Both/);
    expect(editProblem(i, " Text of syn-1-0 ", "Answer of syn-1-0")).toMatch(/Nothing was changed/);
    expect(editProblem(i, "Text of syn-1-0", "A better answer")).toBeNull();
  });
  it("counts read as one line", () => {
    expect(countsLine({ pending: 4, approved: 2, rejected: 1 })).toBe("4 pending · 2 approved · 1 rejected");
  });
  it("strata chips put the quota axes first and read without underscores", () => {
    expect(strataChips({ intent: "daily_coping", zeta: "z", site: "palmar", age_group: "young_adult" })).toEqual([
      { axis: "site", value: "palmar" },
      { axis: "age_group", value: "young adult" },
      { axis: "intent", value: "daily coping" },
      { axis: "zeta", value: "z" },
    ]);
  });
});
