// Component test of the review form in jsdom, with the IPC layer replaced by spies.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { BlindedItem } from "../bindings";
import { item, rating, rubric } from "../review/fixtures";
import { rowsFromRubric } from "../review/state";

const calls = vi.hoisted(() => ({
  openItem: vi.fn(),
  saveRating: vi.fn(),
  savePreference: vi.fn(),
  submitItem: vi.fn(),
}));
vi.mock("../api", async (importOriginal) => {
  const real = await importOriginal<typeof import("../api")>();
  return { ...real, api: calls };
});

import { classifyTarget, ReviewItem } from "./ReviewItem";

let root: HTMLDivElement;
const flush = async () => {
  for (let i = 0; i < 5; i++) await act(async () => await Promise.resolve());
};
const q = (testid: string) => root.querySelector<HTMLElement>(`[data-testid="${testid}"]`);
const press = async (key: string, target: EventTarget = document.activeElement ?? document.body, init: KeyboardEventInit = {}) => {
  await act(() => {
    target.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...init }));
  });
  await flush();
};

async function mount(it0: BlindedItem, onSubmitted = vi.fn()) {
  calls.openItem.mockResolvedValue(it0);
  await act(() => {
    render(
      <ReviewItem raterId={1} assignmentId={it0.assignment_id} rows={rowsFromRubric(rubric)} active onBack={vi.fn()} onSubmitted={onSubmitted} />,
      root,
    );
  });
  await flush();
  return onSubmitted;
}

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  for (const f of Object.values(calls)) f.mockReset();
  calls.saveRating.mockResolvedValue(null);
  calls.savePreference.mockResolvedValue(null);
  calls.submitItem.mockResolvedValue(null);
});
afterEach(() => {
  render(null, root);
  root.remove();
});

describe("ReviewItem", () => {
  it("shows the blinded answers in the given order with no model identity", async () => {
    await mount(item(["B", "A", "C"]));
    const answers = [...root.querySelectorAll("[data-testid^='answer-']")].filter((e) => /^answer-[A-D]$/.test(e.getAttribute("data-testid")!));
    expect(answers.map((a) => a.getAttribute("data-testid"))).toEqual(["answer-B", "answer-A", "answer-C"]);
    expect(q("item-text")!.textContent).toContain("palms sweat");
    expect(root.textContent).not.toMatch(/model/i);
  });

  it("scores with digits, moves with arrows, and autosaves each change", async () => {
    await mount(item());
    expect(document.activeElement?.getAttribute("data-testid")).toBe("row-A-accuracy");
    await press("4");
    expect(q("score-A-accuracy-4")!.getAttribute("aria-checked")).toBe("true");
    await press("ArrowDown");
    await press("2");
    await press("ArrowRight");
    await press("5");
    expect(document.activeElement?.getAttribute("data-testid")).toBe("row-B-appropriateness");
    expect(calls.saveRating).toHaveBeenCalledWith(1, 7, "A", expect.objectContaining({ accuracy: 4 }));
    expect(calls.saveRating).toHaveBeenLastCalledWith(1, 7, "B", expect.objectContaining({ appropriateness: 5 }));
    expect(q("save-status")!.textContent).toBe("Saved ✓");
  });

  it("Backspace clears the focused row and saves the cleared rating", async () => {
    await mount(item());
    await press("4");
    expect(q("score-A-accuracy-4")!.getAttribute("aria-checked")).toBe("true");
    await press("Backspace");
    expect(q("score-A-accuracy-4")!.getAttribute("aria-checked")).toBe("false");
    expect(calls.saveRating).toHaveBeenLastCalledWith(1, 7, "A", expect.objectContaining({ accuracy: null }));
  });

  it("Enter on an incomplete item lists what is missing and does not submit", async () => {
    await mount(item());
    await press("Enter");
    expect(q("missing-list")!.textContent).toContain("Answer B: Empathy score");
    expect(q("missing-list")!.textContent).toContain("Preference");
    expect(calls.submitItem).not.toHaveBeenCalled();
  });

  it("submits a complete item with Enter and reports it", async () => {
    const done = item(["A", "B"], {
      answers: (["A", "B"] as const).map((label) => ({ label, text: label, rating: rating({ accuracy: 3, appropriateness: 3, empathy: 3 }) })),
    });
    const onSubmitted = await mount(done);
    await press("t");
    expect(calls.savePreference).toHaveBeenCalledWith(1, 7, "tie");
    await press("Enter");
    expect(calls.submitItem).toHaveBeenCalledWith(1, 7);
    expect(onSubmitted).toHaveBeenCalledWith(7);
  });

  it("typing in a comment does not trigger shortcuts and is saved after a pause", async () => {
    vi.useFakeTimers();
    try {
      await mount(item());
      const box = q("comment-A") as HTMLTextAreaElement;
      box.focus();
      await press("t", box);
      expect(calls.savePreference).not.toHaveBeenCalled();
      await act(() => {
        box.value = "cite the guideline";
        box.dispatchEvent(new Event("input", { bubbles: true }));
      });
      expect(calls.saveRating).not.toHaveBeenCalled();
      await act(() => {
        vi.advanceTimersByTime(450);
      });
      expect(calls.saveRating).toHaveBeenCalledWith(1, 7, "A", expect.objectContaining({ comment: "cite the guideline" }));
    } finally {
      vi.useRealTimers();
    }
  });

  it("? opens the shortcuts and Escape closes them", async () => {
    await mount(item());
    await press("?");
    expect(q("shortcuts-overlay")).not.toBeNull();
    await press("Escape");
    expect(q("shortcuts-overlay")).toBeNull();
  });

  it("a submitted item is read-only and shows its saved values", async () => {
    const it0 = item(["A", "B"], { status: "submitted", preference: "better:B" });
    it0.answers[0]!.rating = rating({ accuracy: 5, comment: "good" });
    await mount(it0);
    expect(q("readonly-banner")).not.toBeNull();
    expect(q("score-A-accuracy-5")!.getAttribute("aria-checked")).toBe("true");
    expect(q("pref-B")!.getAttribute("aria-checked")).toBe("true");
    expect((q("comment-A") as HTMLTextAreaElement).value).toBe("good");
    await press("3");
    q("score-A-accuracy-1")!.click();
    await flush();
    expect(calls.saveRating).not.toHaveBeenCalled();
    expect((q("submit") as HTMLButtonElement).disabled).toBe(true);
  });

  it("shows the backend's message when saving fails", async () => {
    calls.saveRating.mockRejectedValue(new Error("database is locked"));
    await mount(item());
    await press("3");
    expect(q("save-status")!.textContent).toBe("Not saved: database is locked");
    expect(q("save-status")!.getAttribute("data-state")).toBe("error");
  });
});

describe("classifyTarget", () => {
  it.each([
    ["<textarea></textarea>", "text"],
    ["<input />", "text"],
    ["<div class='answer-text'><p>x</p></div>", "text"],
    ["<div data-row><button>4</button></div>", "row"],
    ["<button>Back</button>", "button"],
    ["<div></div>", "row"],
  ])("%s → %s", (html, expected) => {
    const host = document.createElement("div");
    host.innerHTML = html;
    const el = host.querySelector("p, button, textarea, input") ?? host.firstElementChild!;
    expect(classifyTarget(el)).toBe(expected);
  });
});
