// First run: when a manifest model the demo needs is not registered yet, offer
// to fetch it right here, with a progress bar and cancel.
import { useState } from "preact/hooks";
import { api, channel, newJobId, toAppError } from "../api";
import type { AppError, ManifestEntry, ProgressEvent as JobEvent } from "../bindings";
import { foldJobEvent, formatBytes, jobStart } from "../jobs";
import type { JobProgress } from "../jobs";
import { ErrorBox, ProgressBar } from "./common";

export function FirstRunBanner(props: { manifest: ManifestEntry[]; onFetched: () => void }) {
  const missing = props.manifest.filter((m) => !m.fetched);
  const [job, setJob] = useState<{ id: string; name: string; progress: JobProgress } | null>(null);
  const [error, setError] = useState<AppError | null>(null);
  if (missing.length === 0) return null;
  const defaultMissing = missing.some((m) => m.is_default);

  const fetchAll = async () => {
    setError(null);
    for (const m of missing) {
      const id = newJobId("fetch");
      setJob({ id, name: m.display, progress: { ...jobStart("Connecting…"), total: m.size || null } });
      try {
        const ch = channel<JobEvent>((ev) =>
          setJob((j) => (j && j.id === id ? { ...j, progress: foldJobEvent(j.progress, ev) } : j)),
        );
        await api.fetchModel(id, m.name, ch);
      } catch (err) {
        setError(toAppError(err));
        setJob(null);
        return;
      }
    }
    // With both models here the demo study exists: generate its answers so a
    // newcomer can rate right away.
    try {
      const ws = await api.workspaceStatus();
      if (ws.demo_study_id !== null) {
        const id = newJobId("demo");
        setJob({ id, name: "Demo study answers", progress: jobStart("Generating answers…") });
        const ch = channel<JobEvent>((ev) =>
          setJob((j) => (j && j.id === id ? { ...j, progress: foldJobEvent(j.progress, ev) } : j)),
        );
        await api.generateStudyAnswers(id, ws.demo_study_id, ch);
      }
    } catch (err) {
      setError(toAppError(err));
    }
    setJob(null);
    props.onFetched();
  };

  const total = missing.reduce((n, m) => n + (m.size ?? 0), 0);
  return (
    <section class="card first-run" data-testid="first-run">
      <h2>{defaultMissing ? "Get the default model" : "Get the baseline model"}</h2>
      <p>
        {missing.map((m) => m.display).join(" and ")} {missing.length === 1 ? "is" : "are"} not on this machine yet (
        {formatBytes(total)}). The demo study compares the default model with the baseline, so you can start rating
        within a minute once they are here. Each file is checked against its published sha256.
      </p>
      {job ? (
        <>
          <ProgressBar
            testid="first-run-progress"
            label={`Fetching ${job.name}`}
            value={job.progress.done}
            max={job.progress.total}
            text={
              job.id.startsWith("demo")
                ? `${job.progress.label}: ${job.progress.done} of ${job.progress.total ?? "?"}`
                : `${job.name}: ${formatBytes(job.progress.done)} of ${job.progress.total ? formatBytes(job.progress.total) : "?"}`
            }
          />
          <button type="button" data-testid="first-run-cancel" onClick={() => void api.cancelJob(job.id).catch(() => {})}>
            Cancel
          </button>
        </>
      ) : (
        <button type="button" class="primary" data-testid="first-run-fetch" onClick={() => void fetchAll()}>
          Fetch {missing.length === 1 ? "it" : "them"} now
        </button>
      )}
      <ErrorBox error={error} testid="first-run-error" onDismiss={() => setError(null)} />
    </section>
  );
}
