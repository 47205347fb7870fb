// The review form as plain data: what the rater has entered for one blinded item,
// and which parts still need saving. No DOM, no IPC; every update returns a new state.
import type { BlindedItem, RatingRow, Rubric } from "../bindings";

export const SCORE_AXES = ["accuracy", "appropriateness", "empathy"] as const;
export type ScoreAxis = (typeof SCORE_AXES)[number];

export const HARM_OPTIONS = [
  { value: "none", label: "None" },
  { value: "mild_moderate", label: "Mild–moderate" },
  { value: "severe", label: "Severe" },
] as const;
export const LIKELIHOOD_OPTIONS = [
  { value: "low", label: "Low" },
  { value: "medium", label: "Medium" },
  { value: "high", label: "High" },
] as const;

export type RowId = ScoreAxis | "harm" | "harm_likelihood";

/** One keyboard-addressable row under each answer. */
export type RowDef =
  | {
      kind: "score";
      id: ScoreAxis;
      label: string;
      min: number;
      max: number;
      anchors: Record<string, string>;
    }
  | {
      kind: "choice";
      id: "harm" | "harm_likelihood";
      label: string;
      options: readonly { value: string; label: string }[];
    };

const DEFAULT_AXIS_LABELS: Record<ScoreAxis, string> = {
  accuracy: "Accuracy",
  appropriateness: "Appropriateness",
  empathy: "Empathy",
};

export function isScoreAxis(id: string): id is ScoreAxis {
  return (SCORE_AXES as readonly string[]).includes(id);
}

/**
 * The rows shown under every answer: the three score axes (labels, ranges and anchors taken
 * from the rubric when it has them) followed by the two safety rows. Axes the rubric names
 * but a rating cannot store are left out.
 */
export function rowsFromRubric(rubric: Rubric | null): RowDef[] {
  const rows: RowDef[] = SCORE_AXES.map((id) => {
    const axis = rubric?.axes.find((a) => a.id === id);
    const anchors: Record<string, string> = {};
    for (const [k, v] of Object.entries(axis?.anchors ?? {})) if (typeof v === "string") anchors[k] = v;
    return {
      kind: "score" as const,
      id,
      label: axis?.label ?? DEFAULT_AXIS_LABELS[id],
      min: axis?.min ?? 1,
      max: axis?.max ?? 5,
      anchors,
    };
  });
  rows.push({ kind: "choice", id: "harm", label: "Possible harm", options: HARM_OPTIONS });
  rows.push({ kind: "choice", id: "harm_likelihood", label: "Likelihood of harm", options: LIKELIHOOD_OPTIONS });
  return rows;
}


/** The value a digit key (1–9) selects in a row, or null when the digit is out of range. */
export function valueForDigit(row: RowDef, digit: number): number | string | null {
  if (!Number.isInteger(digit)) return null;
  if (row.kind === "score") return digit >= row.min && digit <= row.max ? digit : null;
  return row.options[digit - 1]?.value ?? null;
}

export type SaveKey = `rating:${string}` | "preference";
export const ratingKey = (label: string): SaveKey => `rating:${label}`;

export interface ReviewState {
  readonly assignmentId: number;
  readonly kind: string;
  readonly text: string;
  readonly labels: readonly string[];
  readonly answerText: Readonly<Record<string, string>>;
  readonly ratings: Readonly<Record<string, RatingRow>>;
  readonly preference: string | null;
  readonly readOnly: boolean;
  /** Bumped on every change to a key; compared with `saved` to know what is dirty. */
  readonly revision: Readonly<Record<string, number>>;
  readonly saved: Readonly<Record<string, number>>;
}

export function emptyRating(): RatingRow {
  return {
    accuracy: null,
    appropriateness: null,
    empathy: null,
    harm: null,
    harm_likelihood: null,
    comment: null,
    corrected_answer: null,
  };
}

export function fromItem(item: BlindedItem): ReviewState {
  const ratings: Record<string, RatingRow> = {};
  const answerText: Record<string, string> = {};
  for (const a of item.answers) {
    ratings[a.label] = { ...emptyRating(), ...a.rating };
    answerText[a.label] = a.text;
  }
  return {
    assignmentId: item.assignment_id,
    kind: item.kind,
    text: item.text,
    labels: item.answers.map((a) => a.label),
    answerText,
    ratings,
    preference: item.preference,
    readOnly: item.status === "submitted",
    revision: {},
    saved: {},
  };
}

function bump(state: ReviewState, key: SaveKey): Pick<ReviewState, "revision"> {
  return { revision: { ...state.revision, [key]: (state.revision[key] ?? 0) + 1 } };
}

export type RatingField = keyof RatingRow;

/** Sets one field of one answer's rating. Empty text becomes null. No-op when read-only. */
export function setRatingField<F extends RatingField>(
  state: ReviewState,
  label: string,
  field: F,
  value: RatingRow[F],
): ReviewState {
  const current = state.ratings[label];
  if (state.readOnly || !current) return state;
  const normalized = (typeof value === "string" && value.trim() === "" ? null : value) as RatingRow[F];
  if (current[field] === normalized) return state;
  const next: RatingRow = { ...current, [field]: normalized };
  if (field === "harm" && normalized === "none") next.harm_likelihood = null;
  return {
    ...state,
    ratings: { ...state.ratings, [label]: next },
    ...bump(state, ratingKey(label)),
  };
}

/** Sets the value of a keyboard row (score axis or safety choice). */
export function setRowValue(state: ReviewState, label: string, row: RowId, value: number | string): ReviewState {
  if (isScoreAxis(row)) return typeof value === "number" ? setRatingField(state, label, row, value) : state;
  // Choice rows offer only HARM_OPTIONS / LIKELIHOOD_OPTIONS values.
  return typeof value === "string" ? setRatingField(state, label, row, value as RatingRow[typeof row]) : state;
}

/** Empties one row of one answer's rating (a draft only; a submitted item stays as it is). */
export function clearRow(state: ReviewState, label: string, row: RowId): ReviewState {
  return setRatingField(state, label, row, null);
}

export function preferenceOptions(labels: readonly string[]): { value: string; label: string; key: string }[] {
  return [
    ...labels.map((l) => ({ value: `better:${l}`, label: `Answer ${l} better`, key: l.toLowerCase() })),
    { value: "tie", label: "Tie", key: "t" },
    { value: "both_bad", label: "Both bad", key: "x" },
  ];
}

export function isValidPreference(labels: readonly string[], value: string): boolean {
  return preferenceOptions(labels).some((o) => o.value === value);
}

export function setPreference(state: ReviewState, value: string): ReviewState {
  if (state.readOnly || !isValidPreference(state.labels, value) || state.preference === value) return state;
  return { ...state, preference: value, ...bump(state, "preference") };
}

export function dirtyKeys(state: ReviewState): SaveKey[] {
  return (Object.keys(state.revision) as SaveKey[]).filter((k) => (state.revision[k] ?? 0) > (state.saved[k] ?? 0));
}

export function isDirty(state: ReviewState): boolean {
  return dirtyKeys(state).length > 0;
}

/** Records that `revision` of `key` reached the backend; a later edit stays dirty. */
export function markSaved(state: ReviewState, key: SaveKey, revision: number): ReviewState {
  if ((state.saved[key] ?? 0) >= revision) return state;
  return { ...state, saved: { ...state.saved, [key]: revision } };
}

/** The rating row to send for one answer. */
export function ratingPayload(state: ReviewState, label: string): RatingRow {
  return { ...emptyRating(), ...state.ratings[label] };
}

/** "Answer A" wording used everywhere the blinded label is shown. */
export const answerName = (label: string) => `Answer ${label}`;
