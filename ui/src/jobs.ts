// Progress of a long job (generation, fetch) folded from its JobEvent stream. Pure.
import type { ProgressEvent as JobEvent } from "./bindings";

export interface JobProgress {
  label: string;
  done: number;
  total: number | null;
  message: string | null;
  notes: string[];
  finished: boolean;
}

export const jobStart = (label = "Starting…"): JobProgress => ({
  label,
  done: 0,
  total: null,
  message: null,
  notes: [],
  finished: false,
});

/** Keeps the last few notes so a chatty job cannot grow the page without bound. */
const MAX_NOTES = 20;

export function foldJobEvent(p: JobProgress, e: JobEvent): JobProgress {
  switch (e.kind) {
    case "started":
      return { ...p, label: e.label, total: e.total, done: 0 };
    case "advanced":
      return { ...p, done: e.done, total: e.total ?? p.total, message: e.message ?? p.message };
    case "note":
      return { ...p, notes: [...p.notes, e.message].slice(-MAX_NOTES) };
    case "finished":
      return { ...p, done: e.done, finished: true };
  }
}

/** Byte counts as the user reads them (decimal units, like download managers). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "–";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
