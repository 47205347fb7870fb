// Test data shared by the review tests.
import type { AnswerLabel, BlindedItem, RatingRow, Rubric } from "../bindings";
import { emptyRating } from "./state";

export function rating(over: Partial<RatingRow> = {}): RatingRow {
  return { ...emptyRating(), ...over };
}

export function item(labels: AnswerLabel[] = ["A", "B"], over: Partial<BlindedItem> = {}): BlindedItem {
  return {
    assignment_id: 7,
    kind: "question",
    text: "My palms sweat so much that I cannot hold a pen. What can I do?",
    answers: labels.map((label) => ({ label, text: `Answer text ${label}`, rating: rating() })),
    preference: null,
    status: "pending",
    ...over,
  };
}

export const rubric: Rubric = {
  axes: [
    { id: "accuracy", label: "Accuracy", min: 1, max: 5, anchors: { "1": "Largely incorrect", "5": "Fully correct" } },
    { id: "appropriateness", label: "Appropriateness", min: 1, max: 5, anchors: { "3": "Usable after edits" } },
    { id: "empathy", label: "Empathy", min: 1, max: 5, anchors: { "4": "Empathetic" } },
  ],
};
