// Layout maths of a round's training curve: the loss of every optimizer step as a line,
// the validation loss before training and after each epoch as points, on shared axes.
// Pure (no DOM), so it is tested on its own.
import type { EpochRow, StepRow } from "../bindings";

export interface CurveBox {
  width: number;
  height: number;
  /** Room for the axes' labels. */
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export const CURVE_BOX: CurveBox = { width: 640, height: 240, left: 48, right: 16, top: 12, bottom: 32 };

export interface CurvePoint {
  x: number;
  y: number;
  label: string;
}

export interface CurveLayout {
  /** SVG path of the step losses (empty without steps). */
  stepPath: string;
  /** Validation loss: before training (x = 0), then after each epoch. */
  valPoints: CurvePoint[];
  /** Tick marks on the loss axis. */
  yTicks: { y: number; label: string }[];
  /** Epoch boundaries on the step axis. */
  epochMarks: { x: number; label: string }[];
  /** Total steps on the x axis. */
  totalSteps: number;
}

const finite = (v: number | null | undefined): v is number => typeof v === "number" && Number.isFinite(v);

/**
 * Lays out the curve in `box`. `stepsPerEpoch` and `plannedEpochs` size the x axis for the
 * whole run, so that a curve in progress grows from the left instead of filling the width.
 */
export function layoutCurve(
  steps: StepRow[],
  epochs: EpochRow[],
  valBefore: number | null,
  stepsPerEpoch: number,
  plannedEpochs = 0,
  box: CurveBox = CURVE_BOX,
): CurveLayout {
  const perEpoch = Math.max(1, stepsPerEpoch, ...steps.map((s) => s.step));
  const index = (epoch: number, step: number) => (epoch - 1) * perEpoch + step;
  const lastEpoch = Math.max(0, plannedEpochs, ...steps.map((s) => s.epoch), ...epochs.map((e) => e.epoch));
  const totalSteps = Math.max(1, lastEpoch * perEpoch);
  const values = [
    ...steps.map((s) => s.loss).filter(finite),
    ...epochs.map((e) => e.val_loss).filter(finite),
    ...(finite(valBefore) ? [valBefore] : []),
  ];
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  lo = Math.max(0, lo - (hi - lo) * 0.05);
  hi = hi + (hi - lo) * 0.05;
  const plotW = box.width - box.left - box.right;
  const plotH = box.height - box.top - box.bottom;
  const x = (i: number) => box.left + (i / totalSteps) * plotW;
  const y = (v: number) => box.top + (1 - (v - lo) / (hi - lo)) * plotH;
  const stepPath = steps
    .filter((s) => finite(s.loss))
    .map((s, i) => `${i === 0 ? "M" : "L"}${x(index(s.epoch, s.step)).toFixed(1)},${y(s.loss as number).toFixed(1)}`)
    .join(" ");
  const valPoints: CurvePoint[] = [];
  if (finite(valBefore)) valPoints.push({ x: x(0), y: y(valBefore), label: `before: ${valBefore.toFixed(3)}` });
  for (const e of epochs) {
    if (finite(e.val_loss)) {
      valPoints.push({ x: x(e.epoch * perEpoch), y: y(e.val_loss), label: `epoch ${e.epoch}: ${e.val_loss.toFixed(3)}` });
    }
  }
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = lo + f * (hi - lo);
    return { y: y(v), label: v.toFixed(2) };
  });
  const epochMarks = Array.from({ length: lastEpoch }, (_, i) => ({ x: x((i + 1) * perEpoch), label: `epoch ${i + 1}` }));
  return { stepPath, valPoints, yTicks, epochMarks, totalSteps };
}
