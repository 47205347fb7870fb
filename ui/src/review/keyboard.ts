// Keyboard operation of the review form as a pure function: a key press plus where the
// rater is (focused answer and row, overlays, completeness) gives one action, or null when
// the key should keep its normal browser meaning.
import type { RowDef, RowId } from "./state";
import { preferenceOptions, valueForDigit } from "./state";

export interface Focus {
  /** Index into the answer labels (left to right). */
  answer: number;
  /** Index into the rows under each answer (top to bottom). */
  row: number;
}

/** Where the key was pressed: in a text field, on an ordinary button, or on a rubric row. */
export type KeyTarget = "text" | "button" | "row";

export interface KeyInput {
  key: string;
  target: KeyTarget;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

export interface KeyContext {
  focus: Focus;
  labels: readonly string[];
  rows: readonly RowDef[];
  readOnly: boolean;
  complete: boolean;
  /** The modal shortcuts overlay is open. */
  overlayOpen: boolean;
}

export type KeyAction =
  | { type: "score"; label: string; row: RowId; value: number | string }
  | { type: "clear"; label: string; row: RowId }
  | { type: "focus"; focus: Focus }
  | { type: "preference"; value: string }
  | { type: "submit" }
  | { type: "show-missing" }
  | { type: "toggle-shortcuts" }
  | { type: "toggle-help" }
  | { type: "close-overlays" }
  | { type: "leave-text" };

const clamp = (n: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, n));

function submitAction(ctx: KeyContext): KeyAction | null {
  if (ctx.readOnly) return null;
  return ctx.complete ? { type: "submit" } : { type: "show-missing" };
}

export function keyAction(input: KeyInput, ctx: KeyContext): KeyAction | null {
  const { key } = input;
  const modified = Boolean(input.ctrlKey || input.metaKey || input.altKey);

  if (key === "Escape") {
    if (ctx.overlayOpen) return { type: "close-overlays" };
    return input.target === "text" ? { type: "leave-text" } : { type: "close-overlays" };
  }

  // Typing in a comment or corrected answer must never trigger shortcuts;
  // only Ctrl/Cmd+Enter submits from there.
  if (input.target === "text") {
    if (key === "Enter" && (input.ctrlKey || input.metaKey) && !input.altKey) return submitAction(ctx);
    return null;
  }
  if (key === "Enter" && (input.ctrlKey || input.metaKey)) return submitAction(ctx);
  if (modified) return null;

  if (key === "?") return { type: "toggle-shortcuts" };
  if (ctx.overlayOpen) return null;
  if (key === "h" || key === "H") return { type: "toggle-help" };

  const answers = ctx.labels.length;
  const rows = ctx.rows.length;
  if (answers === 0 || rows === 0) return null;
  const focus = {
    answer: clamp(ctx.focus.answer, 0, answers - 1),
    row: clamp(ctx.focus.row, 0, rows - 1),
  };

  switch (key) {
    case "ArrowUp":
      return { type: "focus", focus: { ...focus, row: clamp(focus.row - 1, 0, rows - 1) } };
    case "ArrowDown":
      return { type: "focus", focus: { ...focus, row: clamp(focus.row + 1, 0, rows - 1) } };
    case "ArrowLeft":
      return { type: "focus", focus: { ...focus, answer: clamp(focus.answer - 1, 0, answers - 1) } };
    case "ArrowRight":
      return { type: "focus", focus: { ...focus, answer: clamp(focus.answer + 1, 0, answers - 1) } };
    case "Enter":
      // On an ordinary button Enter keeps activating that button.
      return input.target === "button" ? null : submitAction(ctx);
  }

  if (key === "Backspace" || key === "Delete") {
    if (ctx.readOnly || input.target !== "row") return null;
    return { type: "clear", label: ctx.labels[focus.answer]!, row: ctx.rows[focus.row]!.id };
  }

  if (/^[1-9]$/.test(key)) {
    if (ctx.readOnly || input.target !== "row") return null;
    const row = ctx.rows[focus.row]!;
    const value = valueForDigit(row, Number(key));
    if (value === null) return null;
    return { type: "score", label: ctx.labels[focus.answer]!, row: row.id, value };
  }

  if (key.length === 1 && !ctx.readOnly) {
    const option = preferenceOptions(ctx.labels).find((o) => o.key === key.toLowerCase());
    if (option) return { type: "preference", value: option.value };
  }
  return null;
}

/** The shortcuts listed in the overlay, in the order shown. */
export function shortcutList(labels: readonly string[]): { keys: string; what: string }[] {
  const letters = labels.map((l) => l.toLowerCase()).join(" / ");
  return [
    { keys: "1 – 5", what: "Score the focused row (safety rows: 1 – 3)" },
    { keys: "Backspace / Delete", what: "Clear the focused row" },
    { keys: "↑ ↓  or  Tab / Shift+Tab", what: "Previous / next row" },
    { keys: "← →", what: "Previous / next answer" },
    { keys: letters, what: "That answer is better" },
    { keys: "t", what: "Tie" },
    { keys: "x", what: "Both bad" },
    { keys: "Enter", what: "Submit (Ctrl+Enter inside a text box)" },
    { keys: "h", what: "Show / hide rubric anchors" },
    { keys: "?", what: "Show / hide this list" },
    { keys: "Esc", what: "Close overlays / leave a text box" },
  ];
}
