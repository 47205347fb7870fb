// Pure layout and wording for the full report in the results panel: the paired-difference
// (forest) chart, the preference matrix and the agreement readings, unit-tested here so the
// components only draw.
import type { Axis, Computed, PairCount, RoundBreakdown, Section } from "../bindings";

/** A finite number, or null (the bindings type every float as `number | null`). */
export function finite(v: number | null | undefined): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** An interval with both ends, or null. */
function span(ci: { low: number | null; high: number | null } | null): { low: number; high: number } | null {
  if (!ci) return null;
  const low = finite(ci.low);
  const high = finite(ci.high);
  return low === null || high === null ? null : { low, high };
}

/** The figure of a computed value, or null. */
export function valueOf<T>(c: Computed<T>): T | null {
  return "value" in c && c.value !== undefined ? c.value : null;
}

/** Why a computed value has no figure, or null when it has one. */
export function reasonOf<T>(c: Computed<T>): string | null {
  return "not_computable" in c && c.not_computable !== undefined ? c.not_computable : null;
}

/** One row of the forest chart of differences against the baseline. */
export interface ForestRow {
  key: string;
  label: string;
  /** x of the mean difference, or null when not computable. */
  x: number | null;
  /** Whisker ends, or null. */
  ci: { x1: number; x2: number } | null;
  /** "+0.53 [0.10, 0.97] · p = 0.031" or the reason. */
  text: string;
  /** p < 0.05 with the interval off zero. */
  clear: boolean;
}

/** Symmetric span of the forest chart: at least 1, at most 4 points, covering every interval. */
export function forestSpan(section: Section): number {
  const rows = valueOf(section.paired) ?? [];
  let s = 1;
  for (const p of rows) {
    const d = finite(valueOf(p.mean_difference));
    if (d !== null) s = Math.max(s, Math.abs(d));
    const ci = span(valueOf(p.ci));
    if (ci) s = Math.max(s, Math.abs(ci.low), Math.abs(ci.high));
  }
  return Math.min(4, s);
}

/** Rows of the forest chart across `width` (0 in the middle). */
export function forestRows(section: Section, width: number): ForestRow[] {
  const half = forestSpan(section);
  const x = (v: number) => ((Math.max(-half, Math.min(half, v)) + half) / (2 * half)) * width;
  return (valueOf(section.paired) ?? []).map((p) => {
    const d = finite(valueOf(p.mean_difference));
    const ci = span(valueOf(p.ci));
    const wil = valueOf(p.wilcoxon);
    const pv = wil ? finite(wil.p) : null;
    const w = pv === null ? null : { p: pv };
    const sign = (v: number) => (v > 0 ? "+" : "") + v.toFixed(2);
    const text =
      d === null
        ? (reasonOf(p.mean_difference) ?? "")
        : `${sign(d)}${ci ? ` [${ci.low.toFixed(2)}, ${ci.high.toFixed(2)}]` : ""} · ${w ? `p = ${w.p < 0.001 ? "< 0.001" : w.p.toFixed(3)}` : (reasonOf(p.wilcoxon) ?? "")}`;
    return {
      key: `${p.model}/${p.axis}`,
      label: `${p.model} · ${p.axis}`,
      x: d === null ? null : x(d),
      ci: ci ? { x1: x(ci.low), x2: x(ci.high) } : null,
      text,
      clear: !!w && w.p < 0.05 && !!ci && (ci.low > 0 || ci.high < 0),
    };
  });
}

/** A cell of the preference matrix: the row model against the column model. */
export interface MatrixCell {
  wins: number;
  ties: number;
  losses: number;
  /** (wins + ties / 2) / all, or null when the two never met. */
  share: number | null;
}

/** The row model's record against the column model, from the report's pair counts. */
export function matrixCell(pairs: PairCount[], row: string, col: string): MatrixCell {
  for (const p of pairs) {
    const flip = p.a === col && p.b === row;
    if ((p.a === row && p.b === col) || flip) {
      const wins = flip ? p.b_wins : p.a_wins;
      const losses = flip ? p.a_wins : p.b_wins;
      const all = wins + losses + p.ties;
      return { wins, ties: p.ties, losses, share: all === 0 ? null : (wins + p.ties / 2) / all };
    }
  }
  return { wins: 0, ties: 0, losses: 0, share: null };
}

/** Krippendorff's reading of α (2004): ≥ 0.8 reliable, ≥ 0.667 tentative, else low. */
export function alphaWords(alpha: number | null | undefined): string {
  if (alpha === null || alpha === undefined || !Number.isFinite(alpha)) return "not computable";
  if (alpha >= 0.8) return "raters agree well";
  if (alpha >= 0.667) return "moderate: tentative conclusions only";
  if (alpha > 0) return "low: scores on this axis are not reliable";
  return "no agreement beyond chance";
}

/** One mark of the per-round trend chart. */
export interface TrendMark {
  key: string;
  round: number;
  axis: Axis;
  /** Whose mean: the round's model or its base model (in the same study). */
  who: "model" | "base";
  cx: number;
  cy: number;
  mean: number;
  /** Whisker ends (y) of the round model's 95 % t-interval, or null. */
  ci: { y1: number; y2: number } | null;
}

/** Layout of the per-round trend: one slot per round, one column per axis in it. */
export interface TrendLayout {
  width: number;
  height: number;
  /** y of each tick of the 1–5 scale. */
  ticks: { score: number; y: number }[];
  /** x of the centre of each round's slot. */
  rounds: { round: number; x: number }[];
  marks: TrendMark[];
}

export const TREND_AXES: Axis[] = ["accuracy", "appropriateness", "empathy"];

/**
 * The per-round trend: for each evaluated round, the mean of the round's model on each axis
 * with its t-interval (filled) beside its base model's mean (hollow). Rounds and axes whose
 * mean is not computable get no mark.
 */
export function trendLayout(rounds: RoundBreakdown[], slot = 150, plot = 180): TrendLayout {
  const left = 34;
  const top = 10;
  const y = (v: number) => top + ((5 - Math.min(5, Math.max(1, v))) / 4) * plot;
  const marks: TrendMark[] = [];
  rounds.forEach((r, ri) => {
    const x0 = left + slot * ri;
    const statsOf = (name: string | null) => (name === null ? undefined : r.section.models.find((m) => m.model === name));
    TREND_AXES.forEach((axis, ai) => {
      const cx = x0 + (slot * (ai + 1)) / (TREND_AXES.length + 1);
      const add = (who: "model" | "base", name: string | null, x: number) => {
        const a = statsOf(name)?.axes.find((s) => s.axis === axis);
        const mean = a ? finite(valueOf(a.mean)) : null;
        if (!a || mean === null) return;
        const ci = who === "model" ? span(valueOf(a.t_ci)) : null;
        marks.push({ key: `${r.round}:${axis}:${who}`, round: r.round, axis, who, cx: x, cy: y(mean), mean, ci: ci ? { y1: y(ci.low), y2: y(ci.high) } : null });
      };
      add("base", valueOf(r.base_model), cx - 7);
      add("model", valueOf(r.model), cx);
    });
  });
  return {
    width: left + slot * Math.max(1, rounds.length) + 10,
    height: top + plot + 24,
    ticks: [1, 2, 3, 4, 5].map((score) => ({ score, y: y(score) })),
    rounds: rounds.map((r, ri) => ({ round: r.round, x: left + slot * ri + slot / 2 })),
    marks,
  };
}
