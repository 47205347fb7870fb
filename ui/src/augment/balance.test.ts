import { describe, expect, it } from "vitest";
import type { AxisBalance } from "../bindings";
import { BALANCE_BOX, layoutBalance, ratioLabel } from "./balance";

const axis = (name: string, counts: [string, number][], ratio: number | null): AxisBalance => ({ axis: name, counts, ratio });

describe("the ratio label", () => {
  it.each([
    [axis("sex", [["female", 3], ["male", 2]], 1.5), "max/min 1.50"],
    [axis("sex", [["female", 3], ["male", 0]], null), "max/min ∞ (a value has no item)"],
    [axis("sex", [["female", 0], ["male", 0]], null), "no items"],
    [axis("sex", [], null), "no items"],
  ])("%o → %s", (a, expected) => {
    expect(ratioLabel(a)).toBe(expected);
  });
});

describe("the balance layout", () => {
  const b = BALANCE_BOX;
  const axes = [
    axis("site", [["axillary", 4], ["palmar", 2], ["plantar", 0]], null),
    axis("sex", [["female", 3], ["male", 3]], 1),
  ];
  const l = layoutBalance(axes);

  it("scales each axis to its own largest count", () => {
    expect(l.axes[0]!.bars.map((x) => x.width)).toEqual([b.barWidth, b.barWidth / 2, 0]);
    expect(l.axes[1]!.bars.map((x) => x.width)).toEqual([b.barWidth, b.barWidth]);
  });

  it("stacks the rows top to bottom: a heading, then a row per value", () => {
    expect(l.axes[0]!.y).toBe(0);
    expect(l.axes[0]!.bars.map((x) => x.y)).toEqual([b.row, 2 * b.row, 3 * b.row]);
    const second = 4 * b.row + b.axisGap - b.row / 2;
    expect(l.axes[1]!.y).toBe(second);
    expect(l.axes[1]!.bars[0]!.y).toBe(second + b.row);
    expect(l.height).toBe(second + 3 * b.row + b.axisGap - b.row / 2);
  });

  it("marks the least-filled values and the uneven axes", () => {
    expect(l.axes[0]!.bars.map((x) => x.least)).toEqual([false, false, true]);
    expect(l.axes[1]!.bars.map((x) => x.least)).toEqual([false, false]);
    expect(l.axes.map((a) => a.uneven)).toEqual([true, false]);
    expect(layoutBalance([axis("sex", [["f", 3], ["m", 2]], 1.5)], 1.4).axes[0]!.uneven).toBe(true);
  });

  it("an empty pool draws empty bars and no chart without axes", () => {
    const empty = layoutBalance([axis("sex", [["f", 0], ["m", 0]], null)]);
    expect(empty.axes[0]!.bars.every((x) => x.width === 0 && !x.least)).toBe(true);
    expect(empty.axes[0]!.uneven).toBe(false);
    expect(layoutBalance([])).toEqual({ axes: [], height: 0 });
  });
});
