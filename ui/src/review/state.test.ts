import { describe, expect, it } from "vitest";
import type { AssignmentStatus, Axis } from "../bindings";
import { item, rating, rubric } from "./fixtures";
import {
  clearRow,
  dirtyKeys,
  fromItem,
  isDirty,
  markSaved,
  preferenceOptions,
  ratingKey,
  rowsFromRubric,
  setPreference,
  setRatingField,
  setRowValue,
  valueForDigit,
} from "./state";

describe("fromItem", () => {
  it("keeps the answer order and the saved values", () => {
    const it0 = item(["C", "A", "B"]);
    it0.answers[1]!.rating = rating({ accuracy: 4, comment: "ok" });
    it0.preference = "better:A";
    const s = fromItem(it0);
    expect(s.labels).toEqual(["C", "A", "B"]);
    expect(s.ratings.A!.accuracy).toBe(4);
    expect(s.ratings.A!.comment).toBe("ok");
    expect(s.preference).toBe("better:A");
    expect(s.readOnly).toBe(false);
    expect(isDirty(s)).toBe(false);
  });

  it.each([
    ["submitted", true],
    ["draft", false],
    ["pending", false],
  ])("status %s gives readOnly=%s", (status, ro) => {
    expect(fromItem(item(["A", "B"], { status: status as AssignmentStatus })).readOnly).toBe(ro);
  });
});

describe("rowsFromRubric", () => {
  it("takes labels, ranges and anchors from the rubric and adds the safety rows", () => {
    const rows = rowsFromRubric(rubric);
    expect(rows.map((r) => r.id)).toEqual(["accuracy", "appropriateness", "empathy", "harm", "harm_likelihood"]);
    const acc = rows[0]!;
    expect(acc.kind === "score" && acc.anchors["5"]).toBe("Fully correct");
  });

  it("falls back to 1–5 and default labels without a rubric", () => {
    const rows = rowsFromRubric(null);
    expect(rows[1]).toMatchObject({ kind: "score", label: "Appropriateness", min: 1, max: 5 });
  });

  it("ignores axes a rating cannot store", () => {
    const rows = rowsFromRubric({ axes: [...rubric.axes, { id: "clarity" as Axis, label: "Clarity", min: 1, max: 5, anchors: {} }] });
    expect(rows.some((r) => (r.id as string) === "clarity")).toBe(false);
  });
});

describe("valueForDigit", () => {
  const rows = rowsFromRubric({ axes: [{ id: "accuracy", label: "Acc", min: 1, max: 4, anchors: {} }] });
  it.each([
    [0, 1, 1],
    [0, 4, 4],
    [0, 5, null],
    [1, 5, 5],
    [1, 6, null],
    [3, 1, "none"],
    [3, 2, "mild_moderate"],
    [3, 3, "severe"],
    [3, 4, null],
    [4, 1, "low"],
    [4, 3, "high"],
  ])("row %i digit %i → %s", (row, digit, expected) => {
    expect(valueForDigit(rows[row]!, digit)).toBe(expected);
  });
});

describe("edits and dirty tracking", () => {
  it("a score change marks that answer dirty until its revision is saved", () => {
    let s = fromItem(item());
    s = setRowValue(s, "A", "accuracy", 3);
    expect(s.ratings.A!.accuracy).toBe(3);
    expect(dirtyKeys(s)).toEqual([ratingKey("A")]);
    const rev = s.revision[ratingKey("A")]!;
    s = setRowValue(s, "A", "empathy", 5);
    s = markSaved(s, ratingKey("A"), rev);
    expect(dirtyKeys(s)).toEqual([ratingKey("A")]); // a later edit is still unsaved
    s = markSaved(s, ratingKey("A"), s.revision[ratingKey("A")]!);
    expect(isDirty(s)).toBe(false);
  });

  it("setting the same value again changes nothing", () => {
    const s = setRowValue(fromItem(item()), "B", "accuracy", 2);
    expect(setRowValue(s, "B", "accuracy", 2)).toBe(s);
  });

  it("empty text is stored as null", () => {
    let s = setRatingField(fromItem(item()), "A", "comment", "needs a source");
    expect(s.ratings.A!.comment).toBe("needs a source");
    s = setRatingField(s, "A", "comment", "   ");
    expect(s.ratings.A!.comment).toBeNull();
  });

  it("clearing a row empties it and marks the answer dirty; an empty row stays as it is", () => {
    let s = setRowValue(fromItem(item()), "A", "empathy", 4);
    s = markSaved(s, ratingKey("A"), s.revision[ratingKey("A")]!);
    s = clearRow(s, "A", "empathy");
    expect(s.ratings.A!.empathy).toBeNull();
    expect(dirtyKeys(s)).toEqual([ratingKey("A")]);
    expect(clearRow(s, "A", "empathy")).toBe(s);
    const readOnly = { ...setRowValue(fromItem(item()), "B", "accuracy", 2), readOnly: true };
    expect(clearRow(readOnly, "B", "accuracy")).toBe(readOnly);
  });

  it("harm 'none' clears the likelihood", () => {
    let s = setRowValue(fromItem(item()), "A", "harm", "severe");
    s = setRowValue(s, "A", "harm_likelihood", "high");
    s = setRowValue(s, "A", "harm", "none");
    expect(s.ratings.A).toMatchObject({ harm: "none", harm_likelihood: null });
  });

  it.each([
    ["unknown label", (s: ReturnType<typeof fromItem>) => setRowValue(s, "Z", "accuracy", 3)],
    ["wrong value type for an axis", (s: ReturnType<typeof fromItem>) => setRowValue(s, "A", "accuracy", "3")],
    ["preference for a missing label", (s: ReturnType<typeof fromItem>) => setPreference(s, "better:C")],
    ["made-up preference", (s: ReturnType<typeof fromItem>) => setPreference(s, "maybe")],
  ])("ignores %s", (_name, edit) => {
    const s = fromItem(item());
    expect(edit(s)).toBe(s);
  });

  it("a submitted item cannot be edited", () => {
    const s = fromItem(item(["A", "B"], { status: "submitted" }));
    expect(setRowValue(s, "A", "accuracy", 3)).toBe(s);
    expect(setPreference(s, "tie")).toBe(s);
  });

  it("preference changes mark the preference dirty", () => {
    const s = setPreference(fromItem(item()), "both_bad");
    expect(s.preference).toBe("both_bad");
    expect(dirtyKeys(s)).toEqual(["preference"]);
  });
});

describe("preferenceOptions", () => {
  it("offers one 'better' per answer, then tie and both bad", () => {
    expect(preferenceOptions(["A", "B", "C"]).map((o) => [o.value, o.key])).toEqual([
      ["better:A", "a"],
      ["better:B", "b"],
      ["better:C", "c"],
      ["tie", "t"],
      ["both_bad", "x"],
    ]);
  });
});
