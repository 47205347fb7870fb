// The busy / error pattern of a button that calls the backend: one action at a time per
// component, its name while it runs (for "Saving…" labels), and its error if it failed.
import { useState } from "preact/hooks";
import { toAppError } from "../api";
import type { UiError } from "../api";

export interface Action {
  /** The name of the action running now, or null. */
  busy: string | null;
  /** The last action's error (cleared when the next one starts). */
  error: UiError | null;
  setError: (e: UiError | null) => void;
  /**
   * Runs `work` as action `name`: marks it busy, clears the last error, and records a
   * failure as `error`. Resolves with the result, or undefined when it failed.
   */
  run: <T>(name: string, work: () => Promise<T>) => Promise<T | undefined>;
}

export function useAction(): Action {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const run = async <T>(name: string, work: () => Promise<T>): Promise<T | undefined> => {
    setBusy(name);
    setError(null);
    try {
      return await work();
    } catch (e) {
      setError(toAppError(e));
      return undefined;
    } finally {
      setBusy(null);
    }
  };
  return { busy, error, setError, run };
}
