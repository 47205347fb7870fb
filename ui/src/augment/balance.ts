// Pure layout of the augmentation balance chart: one row of bars per value of each quota
// axis, scaled to the axis's largest count, with the axis's largest-to-smallest ratio.
import type { AxisBalance } from "../bindings";

/** Sizes of the chart, in SVG units. */
export const BALANCE_BOX = { labelWidth: 150, barWidth: 260, countWidth: 44, row: 18, axisGap: 28 } as const;

export interface BalanceBar {
  value: string;
  count: number;
  /** Top of the row. */
  y: number;
  /** Bar length (0 for a value without items). */
  width: number;
  /** The axis's least-filled value(s). */
  least: boolean;
}

export interface BalanceAxis {
  axis: string;
  /** Top of the axis heading. */
  y: number;
  /** "max/min 1.50", "max/min ∞ (a value has no item)" or "no items". */
  ratioLabel: string;
  /** Whether the axis is off balance (ratio above `warnAbove`, or unbounded with items). */
  uneven: boolean;
  bars: BalanceBar[];
}

/** The ratio as the chart prints it. */
export function ratioLabel(a: AxisBalance): string {
  const total = a.counts.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return "no items";
  if (a.ratio === null) return "max/min ∞ (a value has no item)";
  return `max/min ${a.ratio.toFixed(2)}`;
}

/**
 * Rows of every axis, top to bottom, and the chart's height. An axis's heading takes one
 * row; bars are scaled to that axis's largest count, so each axis reads on its own.
 */
export function layoutBalance(axes: readonly AxisBalance[], warnAbove = 1.5): { axes: BalanceAxis[]; height: number } {
  const b = BALANCE_BOX;
  let y = 0;
  const out = axes.map((a) => {
    const top = y;
    y += b.row;
    const counts = a.counts.map(([, n]) => n);
    const max = Math.max(0, ...counts);
    const min = counts.length > 0 ? Math.min(...counts) : 0;
    const total = counts.reduce((s, n) => s + n, 0);
    const bars = a.counts.map(([value, count]) => {
      const bar = {
        value,
        count,
        y,
        width: max > 0 ? (count / max) * b.barWidth : 0,
        least: total > 0 && count === min && min < max,
      };
      y += b.row;
      return bar;
    });
    y += b.axisGap - b.row / 2;
    return {
      axis: a.axis,
      y: top,
      ratioLabel: ratioLabel(a),
      uneven: total > 0 && (a.ratio === null || a.ratio > warnAbove),
      bars,
    };
  });
  return { axes: out, height: Math.max(0, y) };
}
