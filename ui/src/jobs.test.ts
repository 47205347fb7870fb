import { describe, expect, it } from "vitest";
import { foldJobEvent, formatBytes, jobStart } from "./jobs";
import type { ProgressEvent as JobEvent } from "./bindings";

describe("foldJobEvent", () => {
  it("follows a job from start to finish", () => {
    const events: JobEvent[] = [
      { kind: "started", label: "Generating answers", total: 10 },
      { kind: "advanced", done: 3, total: null, message: "item 3" },
      { kind: "note", message: "model loaded" },
      { kind: "advanced", done: 4, total: 12, message: null },
      { kind: "finished", done: 12 },
    ];
    const p = events.reduce(foldJobEvent, jobStart());
    expect(p).toEqual({
      label: "Generating answers",
      done: 12,
      total: 12,
      message: "item 3",
      notes: ["model loaded"],
      finished: true,
    });
  });

  it("keeps only the last notes", () => {
    let p = jobStart();
    for (let i = 0; i < 30; i++) p = foldJobEvent(p, { kind: "note", message: `n${i}` });
    expect(p.notes).toHaveLength(20);
    expect(p.notes.at(-1)).toBe("n29");
  });
});

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [999, "999 B"],
    [1500, "1.50 kB"],
    [468_000_000, "468.0 MB"],
    [1_230_000_000, "1.23 GB"],
    [-1, "–"],
  ])("%d → %s", (n, s) => {
    expect(formatBytes(n)).toBe(s);
  });
});
