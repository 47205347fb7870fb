// The load-on-show pattern the screens share: fetch a list when the screen becomes
// active (and on demand), keep the last good value when a reload fails, report errors.
import { useEffect, useState } from "preact/hooks";
import { toAppError } from "../api";
import type { UiError } from "../api";

export interface Loaded<T> {
  /** The last loaded value; null until the first load ends (`empty` after a failed first load). */
  data: T | null;
  /** Replaces the value locally (after a command returned the new state). */
  setData: (update: (current: T | null) => T | null) => void;
  /** The error of the last load or of an action the screen reports here. */
  error: UiError | null;
  setError: (e: UiError | null) => void;
  /** Loads again; resolves when done (errors land in `error`). */
  reload: () => Promise<void>;
}

/**
 * Calls `fetch` whenever `active` turns true and on `reload()`. A failed first load leaves
 * `empty` as the value so that the screen can show its empty state beside the error.
 */
export function useLoaded<T>(fetch: () => Promise<T>, active: boolean, empty: T): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const reload = () =>
    fetch()
      .then((value) => {
        setData(value);
        setError(null);
      })
      .catch((e) => {
        setData((current) => current ?? empty);
        setError(toAppError(e));
      });
  useEffect(() => {
    if (active) void reload();
  }, [active]);
  return { data, setData, error, setError, reload };
}
