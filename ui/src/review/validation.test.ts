import { describe, expect, it } from "vitest";
import { item, rubric } from "./fixtures";
import type { AnswerLabel } from "../bindings";
import type { ReviewState } from "./state";
import { fromItem, rowsFromRubric, setPreference, setRowValue } from "./state";
import { isComplete, missingFields } from "./validation";

function scored(labels: AnswerLabel[]): ReviewState {
  let s = fromItem(item(labels));
  for (const l of labels) for (const a of ["accuracy", "appropriateness", "empathy"] as const) s = setRowValue(s, l, a, 4);
  return s;
}

describe("missingFields", () => {
  it("lists every score of every answer and the preference on a blank item", () => {
    const m = missingFields(fromItem(item(["A", "B"])), rowsFromRubric(rubric));
    expect(m.map((x) => x.message)).toEqual([
      "Answer A: Accuracy score",
      "Answer A: Appropriateness score",
      "Answer A: Empathy score",
      "Answer B: Accuracy score",
      "Answer B: Appropriateness score",
      "Answer B: Empathy score",
      "Preference between the answers",
    ]);
  });

  it.each([
    ["complete", (s: ReviewState) => setPreference(s, "tie"), []],
    ["no preference", (s: ReviewState) => s, ["preference"]],
    ["one score missing", (_s: ReviewState) => setPreference(fromItem({ ...item(["A", "B"]), answers: item(["A", "B"]).answers.map((a) => ({ ...a, rating: { ...a.rating, accuracy: 3, appropriateness: 3, empathy: a.label === "B" ? null : 3 } })) }), "better:A"), ["B:empathy"]],
    ["harm flagged without likelihood", (s: ReviewState) => setPreference(setRowValue(s, "C", "harm", "severe"), "tie"), ["C:harm_likelihood"]],
    ["harm flagged with likelihood", (s: ReviewState) => setPreference(setRowValue(setRowValue(s, "C", "harm", "mild_moderate"), "C", "harm_likelihood", "low"), "tie"), []],
    ["harm none needs no likelihood", (s: ReviewState) => setPreference(setRowValue(s, "A", "harm", "none"), "tie"), []],
  ])("%s", (_name, edit, expected) => {
    const s = edit(scored(["A", "B", "C"]));
    expect(missingFields(s).map((m) => (m.label ? `${m.label}:${m.field}` : m.field))).toEqual(expected);
    expect(isComplete(s)).toBe(expected.length === 0);
  });

  it("safety, comment and corrected answer are optional", () => {
    const s = setPreference(scored(["A", "B"]), "better:B");
    expect(s.ratings.A!.comment).toBeNull();
    expect(isComplete(s)).toBe(true);
  });
});
