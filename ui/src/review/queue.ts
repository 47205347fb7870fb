// Small pure helpers over a rater's queue.
import type { QueueEntry } from "../bindings";

export function queueProgress(queue: readonly QueueEntry[]): { submitted: number; total: number } {
  return { submitted: queue.filter((q) => q.status === "submitted").length, total: queue.length };
}

/** The next ready, unsubmitted item after `currentId` (wrapping around), or null. */
export function nextOpenItem(queue: readonly QueueEntry[], currentId: number | null): QueueEntry | null {
  const open = (q: QueueEntry) => q.ready && q.status !== "submitted" && q.assignment_id !== currentId;
  const at = currentId === null ? -1 : queue.findIndex((q) => q.assignment_id === currentId);
  const ordered = [...queue.slice(at + 1), ...queue.slice(0, at + 1)];
  return ordered.find(open) ?? null;
}

export function statusLabel(entry: QueueEntry): string {
  if (!entry.ready) return "waiting for answers";
  if (entry.status === "submitted") return "submitted";
  if (entry.status === "draft") return "draft";
  return "to do";
}
