import { describe, expect, it } from "vitest";
import type { SaveStatus, Timers } from "./autosave";
import { createAutosave } from "./autosave";

/** Manual clock: `tick(ms)` fires due timers. */
function fakeTimers() {
  let now = 0;
  let seq = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    set(fn, ms) {
      const id = ++seq;
      due.set(id, { at: now + ms, fn });
      return id;
    },
    clear(h) {
      due.delete(h as number);
    },
  };
  const tick = (ms: number) => {
    now += ms;
    for (const [id, t] of [...due].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at <= now) {
        due.delete(id);
        t.fn();
      }
    }
  };
  return { timers, tick, pending: () => due.size };
}

/** A save function whose calls the test resolves or rejects by hand. */
function manualSave() {
  const calls: { key: string; payload: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  const save = (key: string, payload: string) =>
    new Promise<void>((resolve, reject) => calls.push({ key, payload, resolve, reject }));
  return { calls, save };
}

const flushMicrotasks = () => new Promise((r) => setTimeout(r, 0));

describe("autosave", () => {
  it("debounces typing: only the last payload within the delay is sent", async () => {
    const clock = fakeTimers();
    const { calls, save } = manualSave();
    const a = createAutosave({ save, timers: clock.timers, delayMs: 400 });
    a.schedule("rating:A", "h");
    clock.tick(200);
    a.schedule("rating:A", "he");
    clock.tick(200);
    a.schedule("rating:A", "hel");
    expect(calls).toHaveLength(0);
    expect(a.status().state).toBe("saving");
    clock.tick(400);
    expect(calls.map((c) => c.payload)).toEqual(["hel"]);
    calls[0]!.resolve();
    await flushMicrotasks();
    expect(a.status()).toEqual({ state: "saved" });
  });

  it("immediate saves skip the debounce", () => {
    const clock = fakeTimers();
    const { calls, save } = manualSave();
    const a = createAutosave({ save, timers: clock.timers });
    a.schedule("preference", "tie", { immediate: true });
    expect(calls.map((c) => [c.key, c.payload])).toEqual([["preference", "tie"]]);
  });

  it("keys are debounced independently", () => {
    const clock = fakeTimers();
    const { calls, save } = manualSave();
    const a = createAutosave({ save, timers: clock.timers, delayMs: 400 });
    a.schedule("rating:A", "a1");
    clock.tick(300);
    a.schedule("rating:B", "b1");
    clock.tick(100);
    expect(calls.map((c) => c.payload)).toEqual(["a1"]);
    clock.tick(300);
    expect(calls.map((c) => c.payload)).toEqual(["a1", "b1"]);
  });

  it("never runs two saves for one key at once; the newest payload follows", async () => {
    const clock = fakeTimers();
    const { calls, save } = manualSave();
    const saved: string[] = [];
    const a = createAutosave({ save, timers: clock.timers, onSaved: (_k, p) => saved.push(p) });
    a.schedule("rating:A", "1", { immediate: true });
    a.schedule("rating:A", "2", { immediate: true });
    a.schedule("rating:A", "3", { immediate: true });
    expect(calls.map((c) => c.payload)).toEqual(["1"]);
    calls[0]!.resolve();
    await flushMicrotasks();
    expect(calls.map((c) => c.payload)).toEqual(["1", "3"]);
    calls[1]!.resolve();
    await flushMicrotasks();
    expect(saved).toEqual(["1", "3"]);
    expect(a.status().state).toBe("saved");
  });

  it("reports an error, and clears it when a later save of that key succeeds", async () => {
    const clock = fakeTimers();
    const { calls, save } = manualSave();
    const statuses: SaveStatus[] = [];
    const a = createAutosave({ save, timers: clock.timers, onStatus: (s) => statuses.push(s) });
    a.schedule("rating:A", "x", { immediate: true });
    calls[0]!.reject(new Error("database is locked"));
    await flushMicrotasks();
    expect(a.status()).toEqual({ state: "error", message: "database is locked" });
    a.schedule("rating:A", "y", { immediate: true });
    calls[1]!.resolve();
    await flushMicrotasks();
    expect(a.status()).toEqual({ state: "saved" });
    expect(statuses.map((s) => s.state)).toEqual(["saving", "error", "saving", "saved"]);
  });

  it("flush sends pending payloads now and waits for them", async () => {
    const clock = fakeTimers();
    const sent: string[] = [];
    const a = createAutosave({
      save: async (_k, p: string) => {
        sent.push(p);
      },
      timers: clock.timers,
      delayMs: 400,
    });
    a.schedule("rating:A", "typed");
    a.schedule("preference", "tie");
    await a.flush();
    expect(sent.sort()).toEqual(["tie", "typed"]);
    expect(clock.pending()).toBe(0);
    expect(a.status().state).toBe("saved");
  });

  it("flush rejects when a save failed", async () => {
    const a = createAutosave({
      save: async () => {
        throw new Error("disk full");
      },
      timers: fakeTimers().timers,
    });
    a.schedule("rating:A", "x");
    await expect(a.flush()).rejects.toThrow("disk full");
  });

  it("dispose drops work that was not sent", () => {
    const clock = fakeTimers();
    const { calls, save } = manualSave();
    const a = createAutosave({ save, timers: clock.timers });
    a.schedule("rating:A", "x");
    a.dispose();
    clock.tick(1000);
    a.schedule("rating:A", "y", { immediate: true });
    expect(calls).toHaveLength(0);
  });
});
