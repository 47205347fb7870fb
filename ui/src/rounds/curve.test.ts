import { describe, expect, it } from "vitest";
import { CURVE_BOX, layoutCurve } from "./curve";

const steps = [
  { epoch: 1, step: 1, loss: 3 },
  { epoch: 1, step: 2, loss: 2 },
  { epoch: 2, step: 1, loss: 1.5 },
  { epoch: 2, step: 2, loss: 1 },
];
const epochs = [
  { epoch: 1, train_loss: 2.5, val_loss: 2.2, finished_at: "" },
  { epoch: 2, train_loss: 1.25, val_loss: 1.4, finished_at: "" },
];

describe("layoutCurve", () => {
  it("places steps left to right and lower losses lower on the chart", () => {
    const l = layoutCurve(steps, epochs, 3.5, 2);
    expect(l.totalSteps).toBe(4);
    const coords = l.stepPath.split(" ").map((p) => p.slice(1).split(",").map(Number));
    expect(coords).toHaveLength(4);
    for (let i = 1; i < coords.length; i++) {
      expect(coords[i][0]).toBeGreaterThan(coords[i - 1][0]);
      expect(coords[i][1]).toBeGreaterThan(coords[i - 1][1]); // falling loss = larger SVG y
    }
    expect(l.stepPath.startsWith("M")).toBe(true);
  });

  it("puts the validation loss before training at x = 0 and after each epoch at its boundary", () => {
    const l = layoutCurve(steps, epochs, 3.5, 2);
    expect(l.valPoints.map((p) => p.label)).toEqual(["before: 3.500", "epoch 1: 2.200", "epoch 2: 1.400"]);
    expect(l.valPoints[0].x).toBe(CURVE_BOX.left);
    expect(l.valPoints[2].x).toBeCloseTo(CURVE_BOX.width - CURVE_BOX.right);
    expect(l.epochMarks.map((m) => m.label)).toEqual(["epoch 1", "epoch 2"]);
  });

  it("sizes the x axis for the planned run so that a curve in progress grows from the left", () => {
    const l = layoutCurve(steps.slice(0, 2), [], 3.5, 10, 2);
    expect(l.totalSteps).toBe(20);
    const xs = l.stepPath.split(" ").map((p) => Number(p.slice(1).split(",")[0]));
    const right = CURVE_BOX.width - CURVE_BOX.right;
    expect(Math.max(...xs)).toBeLessThan(CURVE_BOX.left + (right - CURVE_BOX.left) * 0.2);
    expect(l.epochMarks.map((m) => m.label)).toEqual(["epoch 1", "epoch 2"]);
  });

  it("keeps every point inside the plot and survives no data and a flat or missing loss", () => {
    const l = layoutCurve(steps, epochs, 3.5, 2);
    for (const p of l.valPoints) {
      expect(p.y).toBeGreaterThanOrEqual(CURVE_BOX.top);
      expect(p.y).toBeLessThanOrEqual(CURVE_BOX.height - CURVE_BOX.bottom);
    }
    const empty = layoutCurve([], [], null, 0);
    expect(empty.stepPath).toBe("");
    expect(empty.valPoints).toEqual([]);
    const flat = layoutCurve([{ epoch: 1, step: 1, loss: 2 }, { epoch: 1, step: 2, loss: null }], [], 2, 2);
    expect(flat.stepPath.split(" ")).toHaveLength(1);
    expect(flat.yTicks.every((t) => Number.isFinite(t.y))).toBe(true);
  });
});
