import { describe, expect, it } from "vitest";
import type { AxisResult } from "../bindings";
import { axisBar, preferenceSegments, scoreX, shareBar, winRate } from "./chart";

const axis = (mean: number | null, ci95: number | null, n: number): AxisResult => ({
  axis: "accuracy",
  n,
  mean,
  ci95,
  counts: [0, 0, 0, 0, 0],
});

describe("results chart layout", () => {
  it("maps the 1–5 scale onto the width and clamps", () => {
    expect(scoreX(1, 200)).toBe(0);
    expect(scoreX(3, 200)).toBe(100);
    expect(scoreX(5, 200)).toBe(200);
    expect(scoreX(0.2, 200)).toBe(0);
    expect(scoreX(7, 200)).toBe(200);
  });

  it("draws the mean with its interval whisker, clamped to the scale", () => {
    const bar = axisBar(axis(4.5, 0.98, 2), 400);
    expect(bar.barWidth).toBe(350);
    expect(bar.ci?.x1).toBeCloseTo(252);
    expect(bar.ci?.x2).toBe(400);
    expect(bar.label).toBe("4.5 ± 1.0 · n=2");
  });

  it("says so when an axis has no scores, and omits the interval for one score", () => {
    expect(axisBar(axis(null, null, 0), 400)).toEqual({ barWidth: 0, ci: null, label: "no scores" });
    const one = axisBar(axis(3, null, 1), 400);
    expect(one.ci).toBeNull();
    expect(one.label).toBe("3.0 · n=1");
  });

  it("stacks preference segments across the width in a fixed order", () => {
    const segs = preferenceSegments({ wins: 2, losses: 1, ties: 1, both_bad: 0 }, 100);
    expect(segs.map((s) => [s.key, s.x, s.width])).toEqual([
      ["wins", 0, 50],
      ["ties", 50, 25],
      ["losses", 75, 25],
    ]);
    expect(preferenceSegments({ wins: 0, losses: 0, ties: 0, both_bad: 0 }, 100)).toEqual([]);
  });

  it("draws a strength share with its interval on a 0–100 % scale", () => {
    const bar = shareBar(0.75, 0.6, 0.9, 200);
    expect(bar.barWidth).toBe(150);
    expect(bar.ci).toEqual({ x1: 120, x2: 180 });
    expect(bar.label).toBe("75 % (95 % CI 60–90 %)");
    expect(shareBar(null, null, null, 200).label).toBe("no comparisons");
  });

  it("gives the win rate over every verdict", () => {
    expect(winRate({ wins: 2, losses: 1, ties: 1, both_bad: 0 })).toBe("50 %");
    expect(winRate({ wins: 0, losses: 0, ties: 0, both_bad: 0 })).toBe("–");
  });
});
