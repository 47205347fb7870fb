import { describe, expect, it } from "vitest";
import { rubric } from "./fixtures";
import type { KeyContext, KeyInput } from "./keyboard";
import { keyAction, shortcutList } from "./keyboard";
import { rowsFromRubric } from "./state";

const rows = rowsFromRubric(rubric);
const ctx = (over: Partial<KeyContext> = {}): KeyContext => ({
  focus: { answer: 0, row: 0 },
  labels: ["A", "B", "C"],
  rows,
  readOnly: false,
  complete: false,
  overlayOpen: false,
  ...over,
});
const key = (k: string, over: Partial<KeyInput> = {}): KeyInput => ({ key: k, target: "row", ...over });

describe("digits score the focused row", () => {
  it.each([
    [{ answer: 0, row: 0 }, "4", { type: "score", label: "A", row: "accuracy", value: 4 }],
    [{ answer: 1, row: 1 }, "1", { type: "score", label: "B", row: "appropriateness", value: 1 }],
    [{ answer: 2, row: 2 }, "5", { type: "score", label: "C", row: "empathy", value: 5 }],
    [{ answer: 1, row: 3 }, "3", { type: "score", label: "B", row: "harm", value: "severe" }],
    [{ answer: 0, row: 4 }, "2", { type: "score", label: "A", row: "harm_likelihood", value: "medium" }],
    [{ answer: 0, row: 0 }, "6", null],
    [{ answer: 0, row: 0 }, "0", null],
    [{ answer: 0, row: 3 }, "4", null],
  ])("focus %o key %s → %o", (focus, k, expected) => {
    expect(keyAction(key(k), ctx({ focus }))).toEqual(expected);
  });

  it("digits do nothing on a read-only item", () => {
    expect(keyAction(key("3"), ctx({ readOnly: true }))).toBeNull();
  });

  it("digits do nothing on an ordinary button", () => {
    expect(keyAction(key("3", { target: "button" }), ctx())).toBeNull();
  });
});

describe("Backspace and Delete clear the focused row", () => {
  it.each(["Backspace", "Delete"])("%s clears", (k) => {
    expect(keyAction(key(k), ctx({ focus: { answer: 1, row: 3 } }))).toEqual({ type: "clear", label: "B", row: "harm" });
  });
  it("not on a read-only item, in a text box or on a button", () => {
    expect(keyAction(key("Backspace"), ctx({ readOnly: true }))).toBeNull();
    expect(keyAction(key("Backspace", { target: "text" }), ctx())).toBeNull();
    expect(keyAction(key("Delete", { target: "button" }), ctx())).toBeNull();
  });
});

describe("arrows move and clamp", () => {
  it.each([
    [{ answer: 0, row: 0 }, "ArrowDown", { answer: 0, row: 1 }],
    [{ answer: 0, row: 1 }, "ArrowUp", { answer: 0, row: 0 }],
    [{ answer: 0, row: 0 }, "ArrowUp", { answer: 0, row: 0 }],
    [{ answer: 0, row: 4 }, "ArrowDown", { answer: 0, row: 4 }],
    [{ answer: 0, row: 2 }, "ArrowRight", { answer: 1, row: 2 }],
    [{ answer: 2, row: 2 }, "ArrowRight", { answer: 2, row: 2 }],
    [{ answer: 1, row: 2 }, "ArrowLeft", { answer: 0, row: 2 }],
    [{ answer: 0, row: 2 }, "ArrowLeft", { answer: 0, row: 2 }],
    [{ answer: 9, row: 9 }, "ArrowLeft", { answer: 1, row: 4 }],
  ])("from %o, %s → %o", (focus, k, expected) => {
    expect(keyAction(key(k), ctx({ focus }))).toEqual({ type: "focus", focus: expected });
  });

  it("arrows still move on a read-only item", () => {
    expect(keyAction(key("ArrowDown"), ctx({ readOnly: true }))).toEqual({ type: "focus", focus: { answer: 0, row: 1 } });
  });
});

describe("Enter submits only when complete", () => {
  it.each([
    ["row, complete", key("Enter"), { complete: true }, { type: "submit" }],
    ["row, incomplete", key("Enter"), { complete: false }, { type: "show-missing" }],
    ["button", key("Enter", { target: "button" }), { complete: true }, null],
    ["text, plain Enter", key("Enter", { target: "text" }), { complete: true }, null],
    ["text, Ctrl+Enter", key("Enter", { target: "text", ctrlKey: true }), { complete: true }, { type: "submit" }],
    ["text, Cmd+Enter", key("Enter", { target: "text", metaKey: true }), { complete: false }, { type: "show-missing" }],
    ["button, Ctrl+Enter", key("Enter", { target: "button", ctrlKey: true }), { complete: true }, { type: "submit" }],
    ["read-only", key("Enter"), { complete: true, readOnly: true }, null],
  ] as const)("%s", (_name, input, over, expected) => {
    expect(keyAction(input, ctx(over))).toEqual(expected);
  });
});

describe("overlays", () => {
  it.each([
    ["? toggles the shortcuts", key("?"), {}, { type: "toggle-shortcuts" }],
    ["? toggles them off again", key("?"), { overlayOpen: true }, { type: "toggle-shortcuts" }],
    ["h toggles the rubric help", key("h"), {}, { type: "toggle-help" }],
    ["Escape closes overlays", key("Escape"), { overlayOpen: true }, { type: "close-overlays" }],
    ["Escape in a text box with overlay closes it", key("Escape", { target: "text" }), { overlayOpen: true }, { type: "close-overlays" }],
    ["Escape in a text box leaves it", key("Escape", { target: "text" }), {}, { type: "leave-text" }],
    ["other keys are inert under the overlay", key("3"), { overlayOpen: true }, null],
    ["preference keys are inert under the overlay", key("t"), { overlayOpen: true }, null],
  ] as const)("%s", (_name, input, over, expected) => {
    expect(keyAction(input, ctx(over))).toEqual(expected);
  });
});

describe("typing in a textarea never triggers shortcuts", () => {
  it.each(["1", "5", "a", "b", "t", "x", "h", "?", "ArrowUp", "ArrowLeft", "Enter", " "])("%s", (k) => {
    expect(keyAction(key(k, { target: "text" }), ctx({ complete: true }))).toBeNull();
  });
});

describe("preference keys map to labels that exist only", () => {
  it.each([
    [["A", "B"], "a", { type: "preference", value: "better:A" }],
    [["A", "B"], "B", { type: "preference", value: "better:B" }],
    [["A", "B"], "c", null],
    [["A", "B"], "d", null],
    [["A", "B", "C", "D"], "d", { type: "preference", value: "better:D" }],
    [["A", "B"], "t", { type: "preference", value: "tie" }],
    [["A", "B"], "x", { type: "preference", value: "both_bad" }],
    [["A", "B"], "q", null],
  ] as const)("labels %o key %s → %o", (labels, k, expected) => {
    expect(keyAction(key(k), ctx({ labels, focus: { answer: 0, row: 0 } }))).toEqual(expected);
  });

  it("preference keys also work from an ordinary button", () => {
    expect(keyAction(key("t", { target: "button" }), ctx())).toEqual({ type: "preference", value: "tie" });
  });

  it("preference keys do nothing on a read-only item", () => {
    expect(keyAction(key("a"), ctx({ readOnly: true }))).toBeNull();
  });

  it.each([
    ["Ctrl+a", { ctrlKey: true }],
    ["Alt+t", { altKey: true }],
    ["Cmd+x", { metaKey: true }],
  ])("%s keeps its browser meaning", (_n, mods) => {
    expect(keyAction(key("a", mods), ctx())).toBeNull();
  });
});

describe("shortcutList", () => {
  it("names the letters of the answers shown", () => {
    const list = shortcutList(["A", "B", "C"]);
    expect(list.find((s) => s.what === "That answer is better")?.keys).toBe("a / b / c");
    expect(list.some((s) => s.keys === "Backspace / Delete")).toBe(true);
  });
});
