// Pure layout for the study results chart: where bars, intervals and stacked preference
// segments go, so that the SVG component only draws and the maths is unit-tested.
import type { AxisResult, PreferenceResult } from "../bindings";

/** The score scale of the rubric axes. */
export const SCALE_MIN = 1;
export const SCALE_MAX = 5;

/** x position (0..width) of a score on the 1–5 scale, clamped. */
export function scoreX(score: number, width: number): number {
  const t = (Math.min(SCALE_MAX, Math.max(SCALE_MIN, score)) - SCALE_MIN) / (SCALE_MAX - SCALE_MIN);
  return t * width;
}

/** Where one axis bar goes: the bar to the mean and the whisker of its 95 % interval. */
export interface AxisBar {
  /** Width of the bar from the scale's start to the mean; 0 without scores. */
  barWidth: number;
  /** Whisker ends (clamped to the scale); null without an interval. */
  ci: { x1: number; x2: number } | null;
  /** The label beside the bar, e.g. "4.2 ± 0.3 · n=12" or "no scores". */
  label: string;
}

export function axisBar(a: AxisResult, width: number): AxisBar {
  if (a.mean === null || a.n === 0) return { barWidth: 0, ci: null, label: "no scores" };
  const ci = a.ci95 === null ? null : { x1: scoreX(a.mean - a.ci95, width), x2: scoreX(a.mean + a.ci95, width) };
  const pm = a.ci95 === null ? "" : ` ± ${a.ci95.toFixed(1)}`;
  return { barWidth: scoreX(a.mean, width), ci, label: `${a.mean.toFixed(1)}${pm} · n=${a.n}` };
}

/** Where a 0–1 share and its interval go across `width`, and its label. */
export function shareBar(share: number | null, low: number | null, high: number | null, width: number): AxisBar {
  if (share === null) return { barWidth: 0, ci: null, label: "no comparisons" };
  const clamp = (v: number) => Math.min(1, Math.max(0, v)) * width;
  const pct = (v: number) => `${Math.round(v * 100)} %`;
  const ci = low !== null && high !== null ? { x1: clamp(low), x2: clamp(high) } : null;
  const range = low !== null && high !== null ? ` (95 % CI ${Math.round(low * 100)}–${pct(high)})` : "";
  return { barWidth: clamp(share), ci, label: `${pct(share)}${range}` };
}

/** The preference outcomes in display order, with their legend text and colour class. */
export const PREFERENCE_PARTS: { key: keyof PreferenceResult; label: string; cls: string }[] = [
  { key: "wins", label: "preferred", cls: "pref-win" },
  { key: "ties", label: "tie", cls: "pref-tie" },
  { key: "both_bad", label: "all bad", cls: "pref-bad" },
  { key: "losses", label: "other preferred", cls: "pref-loss" },
];

export interface Segment {
  key: keyof PreferenceResult;
  label: string;
  cls: string;
  count: number;
  x: number;
  width: number;
}

/** Stacked segments of one model's preferences across `width`; empty without any. */
export function preferenceSegments(p: PreferenceResult, width: number): Segment[] {
  const total = PREFERENCE_PARTS.reduce((sum, part) => sum + p[part.key], 0);
  if (total === 0) return [];
  let x = 0;
  return PREFERENCE_PARTS.filter((part) => p[part.key] > 0).map((part) => {
    const w = (p[part.key] / total) * width;
    const seg = { key: part.key, label: part.label, cls: part.cls, count: p[part.key], x, width: w };
    x += w;
    return seg;
  });
}

/** "62 %" share of wins among items with a verdict, or "–". */
export function winRate(p: PreferenceResult): string {
  const total = p.wins + p.losses + p.ties + p.both_bad;
  return total === 0 ? "–" : `${Math.round((p.wins / total) * 100)} %`;
}
