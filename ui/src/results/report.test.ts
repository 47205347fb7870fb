import { describe, expect, it } from "vitest";
import type { PairedStats, Section } from "../bindings";
import { alphaWords, forestRows, forestSpan, matrixCell, reasonOf, valueOf } from "./report";

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
