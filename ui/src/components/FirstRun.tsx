// First run: when a manifest model the demo needs is not registered yet, offer
// to fetch it right here, with a progress bar and cancel.
import { useState } from "preact/hooks";
import { api, toAppError } from "../api";
import type { UiError, ManifestEntry } from "../api";
import { formatBytes, jobStart } from "../jobs";
import { ErrorBox, ProgressBar } from "./common";
import { useJob } from "./useJob";

export function FirstRunBanner(props: { manifest: ManifestEntry[]; onFetched: () => void }) {
  const missing = props.manifest.filter((m) => !m.fetched);
  const { job, run, cancel } = useJob();
  const [error, setError] = useState<UiError | null>(null);
  if (missing.length === 0) return null;
  const defaultMissing = missing.some((m) => m.is_default);

  const fetchAll = async () => {
    setError(null);
    for (const m of missing) {
      try {
        await run("fetch", m.display, { ...jobStart("Connecting…"), total: m.size || null }, (id, events) => api.fetchModel(id, m.name, events));
      } catch (err) {
        setError(toAppError(err));
        return;
      }
    }
    // With both models here the demo study exists: generate its answers so a
    // newcomer can rate right away.
    try {
      const ws = await api.workspaceStatus();
      const studyId = ws.demo_study_id;
      if (studyId !== null) {
        await run("demo", "Demo study answers", jobStart("Generating answers…"), (id, events) => api.generateStudyAnswers(id, studyId, events));
      }
    } catch (err) {
      setError(toAppError(err));
    }
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
          <button type="button" data-testid="first-run-cancel" onClick={() => void cancel().catch(() => {})}>
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
