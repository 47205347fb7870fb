// The results panel in jsdom, with the IPC layer replaced by a spy: the chart rows follow
// the chosen category, and agreement shows α with Krippendorff's reading.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Axis, AxisResult, ModelResult, StudyResults } from "../bindings";

const calls = vi.hoisted(() => ({ studyResults: vi.fn() }));
vi.mock("../api", async (importOriginal) => {
  const real = await importOriginal<typeof import("../api")>();
  return { ...real, api: calls };
});

import { ResultsPanel } from "./Results";

const axis = (name: Axis, mean: number | null): AxisResult => ({ axis: name, n: mean === null ? 0 : 2, mean, ci95: null, counts: [0, 0, 0, 0, 0] });
const model = (name: string, accuracy: number | null): ModelResult => ({
  model: name,
  ratings: accuracy === null ? 0 : 2,
  axes: [axis("accuracy", accuracy), axis("appropriateness", 3), axis("empathy", 3)],
  harm: { none: 2, mild_moderate: 0, severe: 0, likely: 0 },
  preference: { wins: 1, losses: 1, ties: 0, both_bad: 0 },
});
const results: StudyResults = {
  study_id: 1,
  submitted_items: 3,
  raters: 2,
  models: [model("alpha-model", 4), model("beta-model", 2)],
  by_category: [
    { category: "daily_life", submitted_items: 1, models: [model("alpha-model", 5), model("beta-model", null)] },
    { category: "treatment", submitted_items: 2, models: [model("alpha-model", 3.5), model("beta-model", 2)] },
  ],
  strengths: [
    { model: "alpha-model", share: 0.7, ci_low: 0.55, ci_high: 0.82, comparisons: 3 },
    { model: "beta-model", share: 0.3, ci_low: 0.18, ci_high: 0.45, comparisons: 3 },
  ],
  agreement: [
    { axis: "accuracy", alpha: 0.85, units: 4, values: 8 },
    { axis: "appropriateness", alpha: 0.4, units: 4, values: 8 },
    { axis: "empathy", alpha: null, units: 1, values: 2 },
  ],
};

let root: HTMLDivElement;
const flush = async () => {
  for (let i = 0; i < 5; i++) await act(async () => await Promise.resolve());
};
const means = () =>
  [...root.querySelectorAll<HTMLElement>('[data-testid="results-axis-row"][data-axis="accuracy"]')].map((e) => [e.dataset.model, e.dataset.mean]);

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
  calls.studyResults.mockReset().mockResolvedValue(results);
});
afterEach(() => {
  render(null, root);
  root.remove();
});

describe("ResultsPanel", () => {
  it("charts every model, then the chosen category's figures", async () => {
    await act(() => render(<ResultsPanel studyId={1} />, root));
    await flush();
    expect(calls.studyResults).toHaveBeenCalledWith(1);
    expect(means()).toEqual([
      ["alpha-model", "4"],
      ["beta-model", "2"],
    ]);
    expect(root.querySelector('[data-testid="results-basis"]')?.textContent).toContain("3 submitted items from 2 raters");
    const strengths = [...root.querySelectorAll<HTMLElement>('[data-testid="results-strength-row"]')];
    expect(strengths.map((e) => [e.dataset.model, e.textContent?.includes("70 % (95 % CI 55–82 %)")])).toEqual([
      ["alpha-model", true],
      ["beta-model", false],
    ]);

    const select = root.querySelector<HTMLSelectElement>('[data-testid="results-category"]')!;
    expect([...select.options].map((o) => o.textContent)).toEqual(["all categories", "daily life (1)", "treatment (2)"]);
    await act(() => {
      select.value = "daily_life";
      select.dispatchEvent(new Event("change", { bubbles: true }));
    });
    expect(means()).toEqual([
      ["alpha-model", "5"],
      ["beta-model", ""],
    ]);
    expect(root.querySelector('[data-testid="results-basis"]')?.textContent).toContain("1 submitted item in daily life");
  });

  it("reads agreement the way Krippendorff suggests", async () => {
    await act(() => render(<ResultsPanel studyId={1} />, root));
    await flush();
    const rows = [...root.querySelectorAll<HTMLElement>('[data-testid="results-agreement"] tbody tr')].map((r) =>
      [...r.querySelectorAll("td")].map((td) => td.textContent),
    );
    expect(rows).toEqual([
      ["Accuracy", "0.85", "4", "reliable"],
      ["Appropriateness", "0.40", "4", "low"],
      ["Empathy", "–", "1", "needs answers scored by 2 or more raters"],
    ]);
  });

  it("says when nothing is submitted yet, and shows a failure", async () => {
    calls.studyResults.mockResolvedValueOnce({ ...results, submitted_items: 0 });
    await act(() => render(<ResultsPanel studyId={1} />, root));
    await flush();
    expect(root.querySelector('[data-testid="results-empty"]')).not.toBeNull();
    calls.studyResults.mockRejectedValueOnce({ code: "not_found", message: "no study 1", details: null });
    await act(() => (root.querySelector('[data-testid="study-results-refresh"]') as HTMLElement).click());
    await flush();
    expect(root.querySelector('[data-testid="study-results-error"]')?.textContent).toContain("no study 1");
  });
});
