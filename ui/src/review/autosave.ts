// Autosave: per-key debounce and per-key serialisation of save calls, with one overall
// status for the "Saved ✓ / Saving… / error" line. Timers are injected so tests need no clock.

export type SaveStatus =
  | { state: "idle" }
  | { state: "saving" }
  | { state: "saved" }
  | { state: "error"; message: string };

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface AutosaveOptions<P> {
  /** Sends one payload for one key; rejects on failure. */
  save: (key: string, payload: P) => Promise<void>;
  /** Called whenever the overall status changes. */
  onStatus?: (status: SaveStatus) => void;
  /** Called after a payload for a key reached the backend. */
  onSaved?: (key: string, payload: P) => void;
  delayMs?: number;
  timers?: Timers;
}

interface Slot<P> {
  /** Latest payload not yet handed to `save`. */
  pending: { payload: P } | null;
  timer: unknown;
  inFlight: Promise<void> | null;
  error: string | null;
}

export interface Autosave<P> {
  /** Queues a save; `immediate` skips the debounce (for clicks, as opposed to typing). */
  schedule(key: string, payload: P, opts?: { immediate?: boolean }): void;
  /** Sends everything pending now and waits for all saves; rejects if any failed. */
  flush(): Promise<void>;
  status(): SaveStatus;
  /** Drops pending work (the item was left); saves already sent still finish. */
  dispose(): void;
}

export function createAutosave<P>(opts: AutosaveOptions<P>): Autosave<P> {
  const delay = opts.delayMs ?? 400;
  const timers = opts.timers ?? realTimers;
  const slots = new Map<string, Slot<P>>();
  let current: SaveStatus = { state: "idle" };
  let disposed = false;

  const slot = (key: string): Slot<P> => {
    let s = slots.get(key);
    if (!s) {
      s = { pending: null, timer: null, inFlight: null, error: null };
      slots.set(key, s);
    }
    return s;
  };

  const computeStatus = (): SaveStatus => {
    let busy = false;
    let error: string | null = null;
    let any = false;
    for (const s of slots.values()) {
      any = true;
      if (s.pending || s.inFlight) busy = true;
      if (s.error && !error) error = s.error;
    }
    if (busy) return { state: "saving" };
    if (error) return { state: "error", message: error };
    return any ? { state: "saved" } : { state: "idle" };
  };

  const publish = () => {
    const next = computeStatus();
    const same =
      next.state === current.state &&
      (next.state !== "error" || (current.state === "error" && current.message === next.message));
    current = next;
    if (!same) opts.onStatus?.(next);
  };

  const run = (key: string): Promise<void> => {
    const s = slot(key);
    if (s.timer !== null) {
      timers.clear(s.timer);
      s.timer = null;
    }
    if (s.inFlight) return s.inFlight; // the running save picks up `pending` when it ends
    if (!s.pending) return Promise.resolve();
    const { payload } = s.pending;
    s.pending = null;
    s.inFlight = (async () => {
      try {
        await opts.save(key, payload);
        s.error = null;
        opts.onSaved?.(key, payload);
      } catch (e) {
        s.error = e instanceof Error ? e.message : String(e);
      } finally {
        s.inFlight = null;
      }
      if (s.pending && !disposed) await run(key);
      else publish();
    })();
    publish();
    return s.inFlight;
  };

  return {
    schedule(key, payload, o) {
      if (disposed) return;
      const s = slot(key);
      s.pending = { payload };
      if (s.timer !== null) timers.clear(s.timer);
      s.timer = null;
      if (o?.immediate || delay <= 0) {
        void run(key);
      } else {
        s.timer = timers.set(() => {
          s.timer = null;
          void run(key);
        }, delay);
        publish();
      }
    },
    async flush() {
      // Loop: a save finishing may start the next queued payload for its key.
      for (;;) {
        const work = [...slots.keys()].map((k) => run(k));
        await Promise.all(work);
        const busy = [...slots.values()].some((s) => s.pending || s.inFlight);
        if (!busy) break;
      }
      const failed = [...slots.values()].find((s) => s.error);
      if (failed) throw new Error(failed.error!);
    },
    status: () => current,
    dispose() {
      disposed = true;
      for (const s of slots.values()) {
        if (s.timer !== null) timers.clear(s.timer);
        s.timer = null;
        s.pending = null;
      }
    },
  };
}
