// What still has to be filled in before an item can be submitted.
import type { RowDef } from "./state";
import { answerName, SCORE_AXES } from "./state";
import type { ReviewState } from "./state";

export interface Missing {
  /** The answer label, or null for item-level fields (the preference). */
  label: string | null;
  field: string;
  message: string;
}

/**
 * Every score axis for every answer, a preference, and — when harm is flagged as
 * mild–moderate or severe — its likelihood.
 */
export function missingFields(state: ReviewState, rows?: readonly RowDef[]): Missing[] {
  const axisLabel = (id: string) =>
    rows?.find((r) => r.id === id)?.label ?? id.charAt(0).toUpperCase() + id.slice(1);
  const missing: Missing[] = [];
  for (const label of state.labels) {
    const r = state.ratings[label];
    for (const axis of SCORE_AXES) {
      if (r?.[axis] == null) {
        missing.push({ label, field: axis, message: `${answerName(label)}: ${axisLabel(axis)} score` });
      }
    }
    if (r && r.harm && r.harm !== "none" && !r.harm_likelihood) {
      missing.push({
        label,
        field: "harm_likelihood",
        message: `${answerName(label)}: likelihood of the flagged harm`,
      });
    }
  }
  if (!state.preference) missing.push({ label: null, field: "preference", message: "Preference between the answers" });
  return missing;
}

export function isComplete(state: ReviewState): boolean {
  return missingFields(state).length === 0;
}
