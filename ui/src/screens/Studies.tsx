// Coordinator view of studies: progress per rater, creating a study, generating the
// missing answers (cancellable), closing, exporting ratings, the report, offline packages for
// raters and merging their returned ratings files.
import { useEffect, useState } from "preact/hooks";
import { api, toAppError } from "../api";
import type { UiError, GenerateSummary, ModelView, RaterView, StudyInput, StudyView } from "../api";
import type { MergeOutcome } from "../bindings";
import { Busy, Chip, ErrorBox, Field, ProgressBar } from "../components/common";
import { ResultsPanel } from "../components/Results";
import { useAction } from "../components/useAction";
import { useJob } from "../components/useJob";
import { useLoaded } from "../components/useLoaded";
import { jobStart } from "../jobs";

export function StudiesScreen(props: { active: boolean; categories: string[] }) {
  const { data: studies, setData: setStudies, error, setError, reload: load } = useLoaded(() => api.listStudies(), props.active, [] as StudyView[]);
  const [creating, setCreating] = useState(false);

  const replace = (s: StudyView) => setStudies((list) => (list ?? []).map((x) => (x.id === s.id ? s : x)));

  return (
    <div class="screen" data-testid="screen-studies">
      <div class="screen-head">
        <h1>Studies</h1>
        <div class="toolbar">
          <button type="button" data-testid="study-refresh" onClick={() => void load()}>
            Refresh
          </button>
          <button
            type="button"
            class="primary"
            data-testid="study-new"
            aria-expanded={creating}
            onClick={() => setCreating((c) => !c)}
          >
            {creating ? "Cancel new study" : "New study"}
          </button>
        </div>
      </div>
      <ErrorBox error={error} testid="studies-error" onDismiss={() => setError(null)} />
      {creating && (
        <NewStudyForm
          categories={props.categories}
          onCreated={(s) => {
            setStudies((list) => [s, ...(list ?? [])]);
            setCreating(false);
          }}
        />
      )}
      {studies === null && !error && <Busy>Loading studies…</Busy>}
      {studies && studies.length === 0 && !creating && (
        <p class="empty" data-testid="studies-empty">
          No studies yet. A study pairs a set of questions with 2–4 models and assigns the answers to raters.
        </p>
      )}
      <div class="study-list">
        {studies?.map((s) => <StudyCard key={s.id} study={s} onChanged={replace} onReload={() => void load()} />)}
      </div>
    </div>
  );
}

function StudyCard(props: { study: StudyView; onChanged: (s: StudyView) => void; onReload: () => void }) {
  const s = props.study;
  const { job, run, cancel: cancelJob } = useJob();
  const [summary, setSummary] = useState<GenerateSummary[] | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [confirmClose, setConfirmClose] = useState(false);
  const [exportPath, setExportPath] = useState("~/llm4sweat-ratings.csv");
  const [exported, setExported] = useState<string | null>(null);
  const [reportPath, setReportPath] = useState("~/llm4sweat-report.html");
  const [baseline, setBaseline] = useState("");
  const [reported, setReported] = useState<string | null>(null);
  const [packagesDir, setPackagesDir] = useState("~/llm4sweat-packages");
  const [packaged, setPackaged] = useState<string[] | null>(null);
  const [mergePaths, setMergePaths] = useState("");
  const [merged, setMerged] = useState<MergeOutcome[] | null>(null);
  // Close, reopen and export; generation has its own job state above.
  const action = useAction();
  const busy = action.busy;
  const [showResults, setShowResults] = useState(false);

  const generate = async () => {
    setError(null);
    setSummary(null);
    try {
      setSummary(await run("generate", s.name, jobStart("Preparing generation…"), (id, events) => api.generateStudyAnswers(id, s.id, events)));
      props.onReload();
    } catch (e) {
      setError(toAppError(e));
    }
  };

  const cancel = async () => {
    try {
      await cancelJob("Cancelling after the current answer…");
    } catch (e) {
      setError(toAppError(e));
    }
  };

  const close = async () => {
    const closed = await action.run("close", () => api.closeStudy(s.id));
    if (!closed) return;
    props.onChanged(closed);
    setConfirmClose(false);
  };

  const reopen = async () => {
    const opened = await action.run("reopen", () => api.reopenStudy(s.id));
    if (opened) props.onChanged(opened);
  };

  const doExport = async () => {
    setExported(null);
    const path = exportPath.trim();
    const rows = await action.run("export", () => api.exportStudyRatings(s.id, path));
    if (rows !== undefined) setExported(`Wrote ${rows} row${rows === 1 ? "" : "s"} to ${path}`);
  };

  const doReport = async () => {
    setReported(null);
    const path = reportPath.trim();
    const n = await action.run("report", () => api.exportStudyReport(s.id, baseline || null, path));
    if (n !== undefined) setReported(`Wrote the report (${n} rating${n === 1 ? "" : "s"}) to ${path}`);
  };

  const doPackages = async () => {
    setPackaged(null);
    const files = await action.run("packages", () => api.exportStudyPackages(s.id, packagesDir.trim()));
    if (files !== undefined) setPackaged(files);
  };

  const doMerge = async () => {
    setMerged(null);
    const paths = mergePaths.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
    const outcomes = await action.run("merge", () => api.mergeRatingsFiles(paths));
    if (outcomes !== undefined) {
      setMerged(outcomes);
      props.onReload();
    }
  };

  const p = job?.progress;
  return (
    <article class="card study" data-testid="study-row" data-study-id={s.id} data-study-name={s.name}>
      <header class="study-head">
        <h2>{s.name}</h2>
        <Chip kind={s.status} testid="study-status">
          {s.status}
        </Chip>
      </header>
      <dl class="facts">
        <div>
          <dt>Items</dt>
          <dd>{s.items}</dd>
        </div>
        <div>
          <dt>Models</dt>
          <dd>{s.models.join(", ")}</dd>
        </div>
        <div>
          <dt>Raters per item</dt>
          <dd>{s.overlap >= 1000 ? "every rater" : s.overlap}</dd>
        </div>
        <div>
          <dt>Missing answers</dt>
          <dd data-testid="study-missing">{s.missing_answers}</dd>
        </div>
      </dl>

      <h3 class="sub">Progress by rater</h3>
      {s.progress.length === 0 ? (
        <p class="muted">No raters assigned.</p>
      ) : (
        <div class="rater-progress">
          {s.progress.map((r) => (
            <div class="rater-progress-row" key={r.rater} data-testid="study-rater-progress" data-rater={r.rater}>
              <span class="rater-progress-name">{r.rater}</span>
              <ProgressBar label={`${r.rater}: submitted`} value={r.submitted} max={r.total} text={`${r.submitted} / ${r.total}`} />
            </div>
          ))}
        </div>
      )}

      <button
        type="button"
        class="results-toggle"
        data-testid="study-results-toggle"
        aria-expanded={showResults}
        onClick={() => setShowResults((v) => !v)}
      >
        {showResults ? "Hide results" : "Show results"}
      </button>
      {showResults && <ResultsPanel studyId={s.id} />}

      {p && (
        <div class="job" data-testid="study-job">
          <ProgressBar
            testid="study-progress"
            label={p.label}
            value={p.done}
            max={p.total}
            text={`${p.label} — ${p.done}${p.total !== null ? ` of ${p.total}` : ""}${p.message ? ` · ${p.message}` : ""}`}
          />
          {p.notes.length > 0 && <p class="muted job-note">{p.notes[p.notes.length - 1]}</p>}
        </div>
      )}
      {summary && (
        <div class="summary" data-testid="study-summary">
          {summary.map((m) => (
            <p key={m.model}>
              <strong>{m.model}</strong>: {m.generated} generated, {m.skipped} already there, {m.failed} failed
              {m.taken_by_others > 0 ? `, ${m.taken_by_others} left to another run` : ""}
              {m.cancelled ? " (cancelled)" : ""} · {m.completion_tokens} tokens in {(m.elapsed_s ?? 0).toFixed(1)} s
              {m.errors.length > 0 && (
                <ul class="errors-list">
                  {m.errors.slice(0, 5).map(({ item, message: msg }) => (
                    <li key={item}>
                      {item}: {msg}
                    </li>
                  ))}
                </ul>
              )}
            </p>
          ))}
        </div>
      )}
      <ErrorBox error={error ?? action.error} testid="study-error" onDismiss={() => (setError(null), action.setError(null))} />

      <div class="toolbar">
        {job ? (
          <button type="button" data-testid="study-cancel" onClick={() => void cancel()}>
            Cancel generation
          </button>
        ) : (
          <button
            type="button"
            class="primary"
            data-testid="study-generate"
            disabled={s.status !== "open" || s.missing_answers === 0}
            title={s.missing_answers === 0 ? "Every answer is already generated" : undefined}
            onClick={() => void generate()}
          >
            Generate missing answers ({s.missing_answers})
          </button>
        )}
        {s.status === "open" &&
          (confirmClose ? (
            <span class="confirm">
              Close the study? Raters can no longer submit.
              <button type="button" class="danger" data-testid="study-close-confirm" disabled={busy === "close"} onClick={() => void close()}>
                {busy === "close" ? "Closing…" : "Yes, close"}
              </button>
              <button type="button" onClick={() => setConfirmClose(false)}>
                Keep open
              </button>
            </span>
          ) : (
            <button type="button" data-testid="study-close" disabled={job !== null} onClick={() => setConfirmClose(true)}>
              Close study
            </button>
          ))}
        {s.status === "closed" && (
          <button
            type="button"
            data-testid="study-reopen"
            disabled={busy === "reopen"}
            title="Undo the close: raters can rate and submit again; submitted ratings are kept"
            onClick={() => void reopen()}
          >
            {busy === "reopen" ? "Reopening…" : "Reopen study"}
          </button>
        )}
      </div>

      <form
        class="export-row"
        onSubmit={(e) => {
          e.preventDefault();
          void doExport();
        }}
      >
        <Field label="Export ratings to CSV file" hint="A path on this computer; ~ means your home folder.">
          <input data-testid="study-export-path" value={exportPath} spellcheck={false} onInput={(e) => setExportPath(e.currentTarget.value)} />
        </Field>
        <button type="submit" data-testid="study-export" disabled={busy === "export" || !exportPath.trim()}>
          {busy === "export" ? "Exporting…" : "Export ratings CSV"}
        </button>
      </form>
      {exported && (
        <p class="notice success" data-testid="study-export-result" role="status">
          {exported}
        </p>
      )}
      <form
        class="export-row"
        onSubmit={(e) => {
          e.preventDefault();
          void doReport();
        }}
      >
        <Field label="Report (HTML)" hint="Every statistic, charts and the methods, in one file to attach to a paper.">
          <input data-testid="study-report-path" value={reportPath} spellcheck={false} onInput={(e) => setReportPath(e.currentTarget.value)} />
        </Field>
        <Field label="Baseline" hint="The model the others are tested against.">
          <select data-testid="study-report-baseline" value={baseline} onChange={(e) => setBaseline(e.currentTarget.value)}>
            <option value="">the study's baseline model</option>
            {s.models.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </Field>
        <button type="submit" data-testid="study-report" disabled={busy === "report" || !reportPath.trim()}>
          {busy === "report" ? "Writing…" : "Write report"}
        </button>
      </form>
      {reported && (
        <p class="notice success" data-testid="study-report-result" role="status">
          {reported}
        </p>
      )}
      <form
        class="export-row"
        onSubmit={(e) => {
          e.preventDefault();
          void doPackages();
        }}
      >
        <Field label="Packages for offline raters (folder)" hint="One blinded package per rater: no model names, files or timings.">
          <input data-testid="study-packages-dir" value={packagesDir} spellcheck={false} onInput={(e) => setPackagesDir(e.currentTarget.value)} />
        </Field>
        <button type="submit" data-testid="study-packages-export" disabled={busy === "packages" || !packagesDir.trim()}>
          {busy === "packages" ? "Writing…" : "Write packages"}
        </button>
      </form>
      {packaged && (
        <div class="notice success" data-testid="study-packages-result" data-files={packaged.length} role="status">
          Wrote {packaged.length} package{packaged.length === 1 ? "" : "s"}:
          <ul>
            {packaged.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
        </div>
      )}
      <form
        class="export-row"
        onSubmit={(e) => {
          e.preventDefault();
          void doMerge();
        }}
      >
        <Field label="Merge returned ratings files" hint="One path per line, in any order; a file merged before adds nothing.">
          <textarea data-testid="study-merge-paths" rows={3} value={mergePaths} spellcheck={false} onInput={(e) => setMergePaths(e.currentTarget.value)} />
        </Field>
        <button type="submit" data-testid="study-merge" disabled={busy === "merge" || !mergePaths.trim()}>
          {busy === "merge" ? "Merging…" : "Merge"}
        </button>
      </form>
      {merged && (
        <ul class="merge-result" data-testid="study-merge-result" role="status">
          {merged.map((m, i) => (
            <li key={i} data-testid="study-merge-file" data-ok={m.summary ? "yes" : "no"} data-added={m.summary?.added ?? 0} class={m.summary ? "notice success" : "notice error"}>
              <strong>{m.file}</strong>:{" "}
              {m.summary
                ? m.summary.already_imported
                  ? "merged before; nothing added"
                  : `${m.summary.rater} in ${m.summary.study}: ${m.summary.added} added, ${m.summary.updated} updated, ${m.summary.unchanged} unchanged, ${m.summary.older} older kept`
                : `refused: ${m.error}`}
              {m.summary && m.summary.disagreements.length > 0 && (
                <ul>
                  {m.summary.disagreements.map((d) => (
                    <li key={d}>{d}</li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ul>
      )}
    </article>
  );
}

function NewStudyForm(props: { categories: string[]; onCreated: (s: StudyView) => void }) {
  const [models, setModels] = useState<ModelView[] | null>(null);
  const [raters, setRaters] = useState<RaterView[] | null>(null);
  const [name, setName] = useState("");
  const [category, setCategory] = useState("");
  const [limit, setLimit] = useState("");
  const [picked, setPicked] = useState<string[]>([]);
  const [raterIds, setRaterIds] = useState<number[]>([]);
  const [overlap, setOverlap] = useState("2");
  const [seed, setSeed] = useState("42");
  const [error, setError] = useState<UiError | null>(null);
  const action = useAction();

  useEffect(() => {
    api.listModels().then(setModels).catch((e) => (setModels([]), setError(toAppError(e))));
    api.listRaters().then(setRaters).catch((e) => (setRaters([]), setError(toAppError(e))));
  }, []);

  const toggle = <T,>(list: T[], v: T) => (list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);

  const problems: string[] = [];
  if (!name.trim()) problems.push("a name");
  if (picked.length < 2 || picked.length > 4) problems.push("2 to 4 models");
  if (raterIds.length === 0) problems.push("at least one rater");
  const overlapN = Number(overlap);
  if (!Number.isInteger(overlapN) || overlapN < 1) problems.push("raters per item of at least 1");
  const limitN = limit.trim() === "" ? null : Number(limit);
  if (limitN !== null && (!Number.isInteger(limitN) || limitN < 1)) problems.push("a whole number limit (or none)");
  const seedN = Number(seed);
  if (!Number.isInteger(seedN) || seedN < 0) problems.push("a whole-number seed");

  const create = async (e: Event) => {
    e.preventDefault();
    if (problems.length > 0) {
      setError({ code: "invalid_input", message: `Please choose ${problems.join(", ")}.`, details: null });
      return;
    }
    const input: StudyInput = {
      name: name.trim(),
      category: category || null,
      limit: limitN,
      models: picked,
      rater_ids: raterIds,
      overlap: overlapN,
      seed: seedN,
    };
    setError(null);
    const created = await action.run("create", () => api.createStudy(input));
    if (created) props.onCreated(created);
  };

  return (
    <form class="card new-study" data-testid="study-form" onSubmit={create}>
      <h2>New study</h2>
      <div class="form-grid">
        <Field label="Name">
          <input data-testid="study-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Category">
          <select data-testid="study-category" value={category} onChange={(e) => setCategory(e.currentTarget.value)}>
            <option value="">All categories</option>
            {props.categories.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Limit" hint="Number of questions; empty = all.">
          <input data-testid="study-limit" inputMode="numeric" value={limit} onInput={(e) => setLimit(e.currentTarget.value)} />
        </Field>
        <Field label="Raters per item (overlap)">
          <input data-testid="study-overlap" type="number" min={1} value={overlap} onInput={(e) => setOverlap(e.currentTarget.value)} />
        </Field>
        <Field label="Seed" hint="Fixes the blinding order and assignment.">
          <input data-testid="study-seed" type="number" min={0} value={seed} onInput={(e) => setSeed(e.currentTarget.value)} />
        </Field>
      </div>
      <fieldset class="checks">
        <legend>Models (choose 2–4)</legend>
        {models === null ? (
          <Busy>Loading models…</Busy>
        ) : models.length === 0 ? (
          <p class="muted">No models registered. Add them on the Models page.</p>
        ) : (
          models.map((m) => (
            <label key={m.name} class="check">
              <input
                type="checkbox"
                data-testid={`study-model-${m.name}`}
                checked={picked.includes(m.name)}
                onChange={() => setPicked((l) => toggle(l, m.name))}
              />
              {m.name} <span class="muted">({m.role}, {m.kind})</span>
            </label>
          ))
        )}
      </fieldset>
      <fieldset class="checks">
        <legend>Raters</legend>
        {raters === null ? (
          <Busy>Loading raters…</Busy>
        ) : raters.length === 0 ? (
          <p class="muted">No rater profiles yet. Raters create their profile on the Review page.</p>
        ) : (
          raters.map((r) => (
            <label key={r.id} class="check">
              <input
                type="checkbox"
                data-testid={`study-rater-${r.id}`}
                checked={raterIds.includes(r.id)}
                onChange={() => setRaterIds((l) => toggle(l, r.id))}
              />
              {r.name} <span class="muted">({r.specialty})</span>
            </label>
          ))
        )}
      </fieldset>
      <ErrorBox error={error ?? action.error} testid="study-form-error" />
      <div class="toolbar">
        <button type="submit" class="primary" data-testid="study-create" disabled={action.busy !== null}>
          {action.busy ? "Creating…" : "Create study"}
        </button>
        {problems.length > 0 && <span class="muted">Still needed: {problems.join(", ")}</span>}
      </div>
    </form>
  );
}
