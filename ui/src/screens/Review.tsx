// The rater's side: pick a profile, see the queue, review one item at a time.
import { useEffect, useState } from "preact/hooks";
import { api, toAppError } from "../api";
import type { UiError, QueueEntry, RaterView, Specialty } from "../api";
import { Busy, Chip, ErrorBox, Field, ProgressBar } from "../components/common";
import { nextOpenItem, queueProgress, statusLabel } from "../review/queue";
import type { RowDef } from "../review/state";
import { rowsFromRubric } from "../review/state";
import { ReviewItem } from "./ReviewItem";

const RATER_KEY = "llm4sweat.raterId";
export const SPECIALTIES: readonly { value: Specialty; label: string }[] = [
  { value: "dermatology", label: "Dermatology" },
  { value: "psychology", label: "Psychology" },
  { value: "other", label: "Other" },
];

/** The rater profile chosen on this computer (the Synthetic screen decides as them too). */
export function storedRaterId(): number | null {
  try {
    const v = localStorage.getItem(RATER_KEY);
    return v ? Number(v) : null;
  } catch {
    return null;
  }
}
function storeRaterId(id: number | null) {
  try {
    if (id === null) localStorage.removeItem(RATER_KEY);
    else localStorage.setItem(RATER_KEY, String(id));
  } catch {
    // Storage may be unavailable; the choice then lasts for this session only.
  }
}

export function ReviewScreen(props: { active: boolean }) {
  const [raters, setRaters] = useState<RaterView[] | null>(null);
  const [rater, setRater] = useState<RaterView | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [rows, setRows] = useState<RowDef[]>(() => rowsFromRubric(null));
  const [rubricError, setRubricError] = useState<UiError | null>(null);
  const [queue, setQueue] = useState<QueueEntry[] | null>(null);
  const [openId, setOpenId] = useState<number | null>(null);
  const [allDone, setAllDone] = useState(false);

  useEffect(() => {
    api
      .rubric()
      .then((r) => setRows(rowsFromRubric(r)))
      .catch((e) => setRubricError(toAppError(e)));
    api
      .listRaters()
      .then((list) => {
        setRaters(list);
        const id = storedRaterId();
        const found = list.find((r) => r.id === id);
        if (found) setRater(found);
      })
      .catch((e) => {
        setRaters([]);
        setError(toAppError(e));
      });
  }, []);

  const loadQueue = async (r: RaterView): Promise<QueueEntry[] | null> => {
    try {
      const q = await api.raterQueue(r.id);
      setQueue(q);
      return q;
    } catch (e) {
      setError(toAppError(e));
      return null;
    }
  };

  useEffect(() => {
    setQueue(null);
    setOpenId(null);
    if (rater) void loadQueue(rater);
  }, [rater?.id]);

  // Coming back to this screen refreshes the queue (answers may have been generated meanwhile).
  useEffect(() => {
    if (props.active && rater && openId === null) void loadQueue(rater);
  }, [props.active]);

  const choose = (r: RaterView | null) => {
    storeRaterId(r?.id ?? null);
    setError(null);
    setAllDone(false);
    setRater(r);
  };

  if (!rater) {
    return (
      <div class="screen" data-testid="screen-review">
        <h1>Review</h1>
        <ErrorBox error={error} testid="review-error" onDismiss={() => setError(null)} />
        <RaterPicker
          raters={raters}
          loadFailed={error !== null}
          onChoose={choose}
          onCreated={(r) => {
            setRaters((list) => [...(list ?? []), r]);
            choose(r);
          }}
        />
        <OpenPackage
          onOpened={async (raterId) => {
            try {
              const list = await api.listRaters();
              setRaters(list);
              const found = list.find((r) => r.id === raterId);
              if (found) choose(found);
            } catch (e) {
              setError(toAppError(e));
            }
          }}
        />
      </div>
    );
  }

  if (openId !== null) {
    return (
      <div class="screen screen-wide" data-testid="screen-review">
        <ErrorBox error={rubricError} testid="rubric-error" />
        <ReviewItem
          key={openId}
          raterId={rater.id}
          assignmentId={openId}
          rows={rows}
          active={props.active}
          onBack={() => {
            setOpenId(null);
            void loadQueue(rater);
          }}
          onSubmitted={async (done) => {
            const q = await loadQueue(rater);
            const next = q ? nextOpenItem(q, done) : null;
            setAllDone(next === null);
            setOpenId(next?.assignment_id ?? null);
          }}
        />
      </div>
    );
  }

  const progress = queue ? queueProgress(queue) : null;
  const next = queue ? nextOpenItem(queue, null) : null;
  return (
    <div class="screen" data-testid="screen-review">
      <div class="screen-head">
        <h1>Review</h1>
        <div class="rater-current" data-testid="rater-current">
          <span>
            Reviewing as <strong>{rater.name}</strong> ({rater.specialty})
          </span>
          <button type="button" class="link" data-testid="rater-switch" onClick={() => choose(null)}>
            Switch rater
          </button>
        </div>
      </div>
      <ErrorBox error={error} testid="review-error" onDismiss={() => setError(null)} />
      {queue === null && !error && <Busy>Loading your queue…</Busy>}
      {queue && progress && (
        <>
          <ProgressBar
            testid="queue-progress"
            label="Items submitted"
            value={progress.submitted}
            max={progress.total}
            text={`${progress.submitted} of ${progress.total} submitted`}
          />
          {allDone && next === null && (
            <p class="notice success" data-testid="queue-done">
              Thank you — every item that is ready has been submitted.
            </p>
          )}
          {queue.length === 0 ? (
            <p class="empty" data-testid="queue-empty">
              No items are assigned to you yet. A coordinator assigns items when creating a study.
            </p>
          ) : (
            <>
              <div class="toolbar">
                <button
                  type="button"
                  class="primary"
                  data-testid="queue-start"
                  disabled={next === null}
                  onClick={() => next && setOpenId(next.assignment_id)}
                >
                  {next ? "Start next item" : "Nothing ready to review"}
                </button>
              </div>
              <ReturnRatings rater={rater} studies={[...new Set(queue.map((q) => q.study))]} />
              <ol class="queue" data-testid="queue">
                {queue.map((q, i) => (
                  <li key={q.assignment_id}>
                    <button
                      type="button"
                      class="queue-item"
                      data-testid="queue-item"
                      data-assignment-id={q.assignment_id}
                      data-status={q.status}
                      data-ready={String(q.ready)}
                      disabled={!q.ready}
                      onClick={() => setOpenId(q.assignment_id)}
                    >
                      <span class="queue-num">#{i + 1}</span>
                      <span class="queue-study">{q.study}</span>
                      <Chip kind={q.ready ? q.status : "waiting"} testid="queue-item-status">
                        {statusLabel(q)}
                      </Chip>
                    </button>
                  </li>
                ))}
              </ol>
            </>
          )}
        </>
      )}
    </div>
  );
}

function RaterPicker(props: {
  raters: RaterView[] | null;
  loadFailed: boolean;
  onChoose: (r: RaterView) => void;
  onCreated: (r: RaterView) => void;
}) {
  const [name, setName] = useState("");
  const [specialty, setSpecialty] = useState<Specialty>("dermatology");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError | null>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    if (!name.trim()) {
      setError({ code: "invalid_input", message: "Please enter a name.", details: null });
      return;
    }
    setBusy(true);
    setError(null);
    try {
      props.onCreated(await api.createRater(name.trim(), specialty));
    } catch (err) {
      setError(toAppError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="rater-picker">
      <section class="card">
        <h2>Who is reviewing?</h2>
        {props.raters === null ? (
          <Busy>Loading rater profiles…</Busy>
        ) : props.loadFailed && props.raters.length === 0 ? (
          <p class="muted">Rater profiles could not be loaded (see the message above).</p>
        ) : props.raters.length === 0 ? (
          <p class="muted">No rater profiles yet — create yours below.</p>
        ) : (
          <ul class="rater-list">
            {props.raters.map((r) => (
              <li key={r.id}>
                <button
                  type="button"
                  class="rater-option"
                  data-testid="rater-option"
                  data-rater-id={r.id}
                  onClick={() => props.onChoose(r)}
                >
                  <strong>{r.name}</strong> <span class="muted">{r.specialty}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      <form class="card" onSubmit={create}>
        <h2>New rater profile</h2>
        <Field label="Name">
          <input
            data-testid="rater-name"
            value={name}
            autocomplete="off"
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </Field>
        <Field label="Specialty">
          <select data-testid="rater-specialty" value={specialty} onChange={(e) => setSpecialty(e.currentTarget.value as Specialty)}>
            {SPECIALTIES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </Field>
        <ErrorBox error={error} testid="rater-error" />
        <button type="submit" class="primary" data-testid="create-rater" disabled={busy}>
          {busy ? "Creating…" : "Create profile and start"}
        </button>
        <p class="field-hint">A new profile is added to every open study automatically.</p>
      </form>
    </div>
  );
}

/** Opens a study package the coordinator sent (rating offline, in this workspace). */
function OpenPackage(props: { onOpened: (raterId: number) => void | Promise<void> }) {
  const [path, setPath] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const open = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const s = await api.importStudyPackage(path.trim());
      setDone(
        s.already_imported
          ? `This package was opened before (study ${s.study}).`
          : `Opened study ${s.study} for ${s.rater}: ${s.assignments_added} item${s.assignments_added === 1 ? "" : "s"} to rate.`,
      );
      await props.onOpened(s.rater_id);
    } catch (err) {
      setError(toAppError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card open-package" onSubmit={open}>
      <h2>Rating offline?</h2>
      <Field label="Study package from your coordinator" hint="A .zip file; ~ means your home folder. Nothing leaves this computer.">
        <input data-testid="package-path" value={path} spellcheck={false} onInput={(e) => setPath(e.currentTarget.value)} />
      </Field>
      <ErrorBox error={error} testid="package-error" onDismiss={() => setError(null)} />
      {done && (
        <p class="notice success" data-testid="package-result" role="status">
          {done}
        </p>
      )}
      <button type="submit" data-testid="package-open" disabled={busy || !path.trim()}>
        {busy ? "Opening…" : "Open package"}
      </button>
    </form>
  );
}

/** Writes the rater's ratings of one study as a file to send back to the coordinator. */
function ReturnRatings(props: { rater: RaterView; studies: string[] }) {
  const [study, setStudy] = useState(props.studies[0] ?? "");
  const [path, setPath] = useState(`~/llm4sweat-ratings-${props.rater.name.replace(/[^A-Za-z0-9_-]+/g, "_")}.zip`);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const chosen = props.studies.includes(study) ? study : (props.studies[0] ?? "");
  const write = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const n = await api.returnRatings(props.rater.id, chosen, path.trim());
      setDone(`Wrote ${n} rating${n === 1 ? "" : "s"} of ${chosen} to ${path.trim()}. Send this file to your coordinator.`);
    } catch (err) {
      setError(toAppError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="return-ratings" onSubmit={write}>
      <details>
        <summary>Send your ratings back (rating offline)</summary>
        {props.studies.length > 1 && (
          <Field label="Study">
            <select data-testid="return-study" value={chosen} onChange={(e) => setStudy(e.currentTarget.value)}>
              {props.studies.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </Field>
        )}
        <Field label="Ratings file to write" hint="Drafts go too; submitted items count in the results.">
          <input data-testid="return-path" value={path} spellcheck={false} onInput={(e) => setPath(e.currentTarget.value)} />
        </Field>
        <ErrorBox error={error} testid="return-error" onDismiss={() => setError(null)} />
        {done && (
          <p class="notice success" data-testid="return-result" role="status">
            {done}
          </p>
        )}
        <button type="submit" data-testid="return-ratings" disabled={busy || !path.trim() || !chosen}>
          {busy ? "Writing…" : "Write ratings file"}
        </button>
      </details>
    </form>
  );
}
