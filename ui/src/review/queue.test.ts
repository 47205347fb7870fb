import { describe, expect, it } from "vitest";
import type { AssignmentStatus, QueueEntry } from "../bindings";
import { nextOpenItem, queueProgress, statusLabel } from "./queue";

const q = (id: number, status: AssignmentStatus, ready = true): QueueEntry => ({ assignment_id: id, study: "S", status, ready });
const queue = [q(1, "submitted"), q(2, "pending", false), q(3, "draft"), q(4, "submitted"), q(5, "pending")];

describe("nextOpenItem", () => {
  it.each([
    [null, 3],
    [1, 3],
    [3, 5],
    [5, 3],
    [4, 5],
  ])("after %s → %s", (current, expected) => {
    expect(nextOpenItem(queue, current)?.assignment_id).toBe(expected);
  });

  it("returns null when nothing ready is left", () => {
    expect(nextOpenItem([q(1, "submitted"), q(2, "pending", false)], 1)).toBeNull();
    expect(nextOpenItem([q(1, "draft")], 1)).toBeNull();
  });
});

describe("queue helpers", () => {
  it("counts submitted items", () => {
    expect(queueProgress(queue)).toEqual({ submitted: 2, total: 5 });
  });
  it.each([
    [q(1, "pending", false), "waiting for answers"],
    [q(1, "pending"), "to do"],
    [q(1, "draft"), "draft"],
    [q(1, "submitted"), "submitted"],
  ])("%o → %s", (e, label) => {
    expect(statusLabel(e)).toBe(label);
  });
});
