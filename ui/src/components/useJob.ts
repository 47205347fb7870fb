// A long backend job (model fetch, answer generation) as the screens run it: a fresh job
// id, progress folded from the job's event Channel, and cancel by id. Errors are the
// caller's to show, since each screen reports them in its own place.
import type { Channel } from "@tauri-apps/api/core";
import { useState } from "preact/hooks";
import { api, channel, newJobId } from "../api";
import type { ProgressEvent as JobEvent } from "../bindings";
import type { JobProgress } from "../jobs";
import { foldJobEvent } from "../jobs";

export interface RunningJob {
  id: string;
  /** What runs, for the progress bar's label. */
  name: string;
  progress: JobProgress;
}

export interface Job {
  /** The job running now, or null. */
  job: RunningJob | null;
  /**
   * Starts `call` with a new job id (prefixed `prefix`) and a Channel whose events update
   * `job.progress`; resolves or rejects as `call` does, and clears `job` when it ends.
   */
  run: <T>(prefix: string, name: string, start: JobProgress, call: (id: string, events: Channel<JobEvent>) => Promise<T>) => Promise<T>;
  /** Asks the backend to cancel the running job; `message` shows until it stops. */
  cancel: (message?: string) => Promise<void>;
}

export function useJob(): Job {
  const [job, setJob] = useState<RunningJob | null>(null);
  const run = async <T>(
    prefix: string,
    name: string,
    start: JobProgress,
    call: (id: string, events: Channel<JobEvent>) => Promise<T>,
  ): Promise<T> => {
    const id = newJobId(prefix);
    const mine = (update: (j: RunningJob) => RunningJob | null) => setJob((j) => (j && j.id === id ? update(j) : j));
    setJob({ id, name, progress: start });
    try {
      const events = channel<JobEvent>((ev) => mine((j) => ({ ...j, progress: foldJobEvent(j.progress, ev) })));
      return await call(id, events);
    } finally {
      mine(() => null);
    }
  };
  const cancel = async (message?: string) => {
    const running = job;
    if (!running) return;
    await api.cancelJob(running.id);
    if (message) setJob((j) => (j && j.id === running.id ? { ...j, progress: { ...j.progress, message } } : j));
  };
  return { job, run, cancel };
}
