import { describe, expect, it } from "vitest";
import type { ModelStats, PairedStats, RoundBreakdown, Section } from "../bindings";
import { alphaWords, forestRows, forestSpan, matrixCell, reasonOf, trendLayout, valueOf } from "./report";

function paired(model: string, d: number | null, ci: [number, number] | null, p: number | null): PairedStats {
  return {
    model,
    baseline: "base",
    axis: "accuracy",
    items: 10,
    excluded: [],
    mean_difference: d === null ? { not_computable: "no item was scored for both" } : { value: d },
    ci: ci === null ? { not_computable: "1 paired item(s)" } : { value: { low: ci[0], high: ci[1] } },
    wilcoxon:
      p === null
        ? { not_computable: "every one of the 3 paired differences is zero" }
        : { value: { nonzero: 10, zeros: 0, w_plus: 40, w_minus: 15, z: 1.2, p, method: "exact" } },
  };
}

function section(rows: PairedStats[]): Section {
  return {
    ratings: 0,
    items: 0,
    raters: 0,
    models: [],
    paired: { value: rows },
    preferences: { pairs: [], bradley_terry: { not_computable: "none" } },
    agreement: [],
  };
}

describe("report layout", () => {
  it("reads computed values and reasons", () => {
    expect(valueOf({ value: 3 })).toBe(3);
    expect(reasonOf({ value: 3 })).toBeNull();
    expect(valueOf({ not_computable: "why" })).toBeNull();
    expect(reasonOf({ not_computable: "why" })).toBe("why");
  });

  it("places differences around zero in the middle, span at least 1 and at most 4", () => {
    const s = section([paired("a", 0.5, [0.1, 0.9], 0.03), paired("b", -0.25, [-0.5, 0], 0.2)]);
    expect(forestSpan(s)).toBe(1);
    const [a, b] = forestRows(s, 200);
    expect(a.x).toBeCloseTo(150);
    expect(a.ci?.x1).toBeCloseTo(110);
    expect(a.ci?.x2).toBeCloseTo(190);
    expect(a.text).toBe("+0.50 [0.10, 0.90] · p = 0.030");
    expect(a.clear).toBe(true);
    expect(b.x).toBeCloseTo(75);
    expect(b.clear).toBe(false);
    expect(forestSpan(section([paired("c", 7, [6, 9], 0.001)]))).toBe(4);
  });

  it("shows the reason when a difference cannot be computed", () => {
    const [r] = forestRows(section([paired("a", null, null, null)]), 100);
    expect(r.x).toBeNull();
    expect(r.ci).toBeNull();
    expect(r.text).toBe("no item was scored for both");
    const [z] = forestRows(section([paired("a", 0, [0, 0], null)]), 100);
    expect(z.text).toContain("every one of the 3 paired differences is zero");
  });

  it("reads the matrix from either side of a pair", () => {
    const pairs = [{ a: "x", b: "y", a_wins: 3, b_wins: 1, ties: 2 }];
    expect(matrixCell(pairs, "x", "y")).toEqual({ wins: 3, ties: 2, losses: 1, share: 4 / 6 });
    expect(matrixCell(pairs, "y", "x")).toEqual({ wins: 1, ties: 2, losses: 3, share: 2 / 6 });
    expect(matrixCell(pairs, "x", "z").share).toBeNull();
  });

  it("words α as Krippendorff does", () => {
    expect(alphaWords(0.85)).toBe("raters agree well");
    expect(alphaWords(0.7)).toContain("tentative");
    expect(alphaWords(0.3)).toContain("low");
    expect(alphaWords(-0.1)).toBe("no agreement beyond chance");
    expect(alphaWords(null)).toBe("not computable");
  });
});

function stats(model: string, mean: number | null): ModelStats {
  const axis = (a: "accuracy" | "appropriateness" | "empathy") => ({
    axis: a,
    n: 10,
    mean: mean === null ? { not_computable: "no scores" } : { value: mean },
    median: { value: 3 },
    sd: { value: 1 },
    share_high: { value: 0.5 },
    t_ci: mean === null ? { not_computable: "no scores" } : { value: { low: mean - 0.5, high: mean + 0.5 } },
    bootstrap_ci: { not_computable: "n/a" },
    counts: [0, 0, 10, 0, 0] as [number, number, number, number, number],
  });
  return { model, ratings: 10, axes: [axis("accuracy"), axis("appropriateness"), axis("empathy")], harm: { none: 10, mild_moderate: 0, severe: 0, likely: 0 } };
}

function round(n: number, model: string, base: string, m: number | null, b: number): RoundBreakdown {
  return {
    round: n,
    study: `Round ${n} evaluation`,
    model: { value: model },
    base_model: { value: base },
    section: { ...section([]), models: [stats(base, b), stats(model, m)] },
  };
}

describe("per-round trend", () => {
  it("places each round's model and its base on the 1–5 scale", () => {
    const l = trendLayout([round(1, "s-r1", "s", 3, 2), round(2, "s-r2", "s-r1", 4, 3)], 150, 180);
    expect(l.rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(l.rounds[1].x - l.rounds[0].x).toBe(150);
    const y = (v: number) => l.ticks.find((t) => t.score === v)!.y;
    expect(y(1) - y(5)).toBe(180);
    const acc1 = l.marks.find((m) => m.key === "1:accuracy:model")!;
    expect(acc1.cy).toBe(y(3));
    expect(acc1.ci).toEqual({ y1: (y(2) + y(3)) / 2, y2: (y(3) + y(4)) / 2 });
    const base1 = l.marks.find((m) => m.key === "1:accuracy:base")!;
    expect([base1.cy, base1.ci]).toEqual([y(2), null]);
    expect(base1.cx).toBeLessThan(acc1.cx);
    expect(l.marks.find((m) => m.key === "2:empathy:model")!.cy).toBe(y(4));
    expect(l.marks).toHaveLength(12);
  });

  it("leaves out what is not computable and clamps to the scale", () => {
    const l = trendLayout([round(1, "s-r1", "s", null, 7)]);
    expect(l.marks.filter((m) => m.who === "model")).toHaveLength(0);
    const y1 = l.ticks.find((t) => t.score === 5)!.y;
    expect(l.marks.every((m) => m.cy === y1)).toBe(true);
    expect(trendLayout([]).marks).toHaveLength(0);
  });
});
