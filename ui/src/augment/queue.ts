// The expert's approval queue for synthetic items as pure functions: a key press plus
// where the expert is (browsing, editing, giving a rejection reason) gives one action or
// null (the key keeps its normal meaning), and the queue's position after a decision.
// Decisions are final in the core, so nothing here undoes one; a rejection asks for its
// reason first, which is its confirmation.
import type { ReviewCounts, SyntheticItem } from "../bindings";

/** Where the key was pressed: in a text field, on an ordinary button, or elsewhere. */
export type KeyTarget = "text" | "button" | "other";

/** What the expert is doing with the current item. */
export type Mode = "browse" | "edit" | "reject";

export interface KeyInput {
  key: string;
  target: KeyTarget;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  shiftKey?: boolean;
}

export interface KeyContext {
  mode: Mode;
  /** Items in the queue. */
  count: number;
  /** A decision is on its way to the backend. */
  busy: boolean;
}

export type QueueAction =
  | { type: "approve" }
  | { type: "start-edit" }
  | { type: "save-edit" }
  | { type: "start-reject" }
  | { type: "confirm-reject" }
  | { type: "cancel" }
  | { type: "move"; by: 1 | -1 }
  | { type: "toggle-shortcuts" }
  | { type: "leave-text" };

export function keyAction(input: KeyInput, ctx: KeyContext): QueueAction | null {
  const { key } = input;
  const ctrl = Boolean(input.ctrlKey || input.metaKey);
  const modified = ctrl || Boolean(input.altKey);

  if (ctx.mode === "edit") {
    if (key === "Escape") return { type: "cancel" };
    if (key === "Enter" && ctrl && !input.altKey) return ctx.busy ? null : { type: "save-edit" };
    return null;
  }
  if (ctx.mode === "reject") {
    if (key === "Escape") return { type: "cancel" };
    // Shift+Enter and Ctrl+Enter stay with the field; a plain Enter confirms.
    if (key === "Enter" && !modified && !input.shiftKey) return ctx.busy ? null : { type: "confirm-reject" };
    return null;
  }

  // Browsing: typing in a field (the expert's name) never triggers shortcuts; Esc leaves
  // the field for the item, where they work again.
  if (input.target === "text") return key === "Escape" ? { type: "leave-text" } : null;
  if (modified) return null;
  if (key === "?") return { type: "toggle-shortcuts" };
  switch (key) {
    case "j":
    case "J":
    case "ArrowDown":
    case "ArrowRight":
      return ctx.count > 1 ? { type: "move", by: 1 } : null;
    case "k":
    case "K":
    case "ArrowUp":
    case "ArrowLeft":
      return ctx.count > 1 ? { type: "move", by: -1 } : null;
  }
  if (ctx.count === 0 || ctx.busy) return null;
  switch (key) {
    case "a":
    case "A":
      return { type: "approve" };
    case "e":
    case "E":
      return { type: "start-edit" };
    case "r":
    case "R":
      return { type: "start-reject" };
  }
  return null;
}

/** The index `by` steps from `index` in a queue of `count`, wrapping around. */
export function moveIndex(index: number, by: number, count: number): number {
  if (count <= 0) return 0;
  return (((index + by) % count) + count) % count;
}

/**
 * The queue once `externalId` is decided: the item leaves it and the one after it (or the
 * new last one) becomes current.
 */
export function afterDecision(
  items: readonly SyntheticItem[],
  index: number,
  externalId: string,
): { items: SyntheticItem[]; index: number } {
  const at = items.findIndex((i) => i.external_id === externalId);
  if (at < 0) return { items: [...items], index: Math.min(index, Math.max(0, items.length - 1)) };
  const rest = items.filter((_, i) => i !== at);
  const next = at < index ? index - 1 : index;
  return { items: rest, index: Math.min(next, Math.max(0, rest.length - 1)) };
}

/** Why the edit cannot be sent yet, or null; the core checks the rest (bounds, leaks). */
export function editProblem(original: SyntheticItem, text: string, answer: string): string | null {
  if (text.trim() === "" || answer.trim() === "") return "Both the text and the reference answer are needed.";
  if (text.trim() === original.text.trim() && answer.trim() === original.answer.trim()) {
    return "Nothing was changed: approve the item as written with A instead.";
  }
  return null;
}

/** "12 pending · 3 approved · 1 rejected". */
export function countsLine(c: ReviewCounts): string {
  return `${c.pending} pending · ${c.approved} approved · ${c.rejected} rejected`;
}

/** The strata as chips, in a stable order (the quota axes first, then the rest). */
export function strataChips(strata: Partial<Record<string, string>>): { axis: string; value: string }[] {
  const first = ["site", "age_group", "severity", "sex", "intent"];
  const keys = Object.keys(strata).sort((a, b) => {
    const ia = first.indexOf(a);
    const ib = first.indexOf(b);
    return (ia < 0 ? first.length : ia) - (ib < 0 ? first.length : ib) || a.localeCompare(b);
  });
  return keys.flatMap((axis) => {
    const value = strata[axis];
    return value === undefined ? [] : [{ axis, value: value.replace(/_/g, " ") }];
  });
}

/** The shortcuts listed in the overlay, in the order shown. */
export const SHORTCUTS: readonly { keys: string; what: string }[] = [
  { keys: "A", what: "Approve the item as written" },
  { keys: "E", what: "Edit text and answer (Ctrl+Enter saves and approves, Esc cancels)" },
  { keys: "R", what: "Reject: type the reason, Enter confirms, Esc cancels" },
  { keys: "J / ↓ / →", what: "Next item" },
  { keys: "K / ↑ / ←", what: "Previous item" },
  { keys: "?", what: "Show / hide this list" },
  { keys: "Esc", what: "Leave the name field (or cancel an edit or rejection)" },
];
