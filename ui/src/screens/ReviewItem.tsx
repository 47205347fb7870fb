// One blinded item: the case on top, the answers side by side with their rubric rows,
// the preference below. All form logic lives in ../review; this file wires it to the DOM.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, toAppError } from "../api";
import type { AnswerLabel, Preference, UiError, RatingRow } from "../api";
import { Busy, ErrorBox } from "../components/common";
import { createAutosave } from "../review/autosave";
import type { SaveStatus } from "../review/autosave";
import type { Focus, KeyAction, KeyTarget } from "../review/keyboard";
import { keyAction, shortcutList } from "../review/keyboard";
import type { ReviewState, RowDef, SaveKey } from "../review/state";
import {
  answerName,
  clearRow,
  fromItem,
  markSaved,
  preferenceOptions,
  setPreference,
  setRatingField,
  setRowValue,
} from "../review/state";
import { missingFields } from "../review/validation";

type Payload =
  | { kind: "rating"; label: AnswerLabel; rating: RatingRow; revision: number }
  | { kind: "preference"; value: Preference; revision: number };

export interface ReviewItemProps {
  raterId: number;
  assignmentId: number;
  rows: readonly RowDef[];
  /** Only the visible screen listens to the keyboard. */
  active: boolean;
  onBack: () => void;
  onSubmitted: (assignmentId: number) => void;
}

/** Where a key press happened, in the terms of the keyboard reducer. */
export function classifyTarget(el: EventTarget | null): KeyTarget {
  if (!(el instanceof Element)) return "row";
  // The scrollable answer text counts as text: arrows scroll it, Esc returns to the rows.
  if (el.closest("textarea, input, select, [contenteditable='true'], [contenteditable=''], .answer-text")) return "text";
  if (el.closest("[data-row]")) return "row";
  if (el.closest("button, a, summary")) return "button";
  return "row";
}

const SHORT_CHOICE: Record<string, string> = { mild_moderate: "Mild–mod." };

export function ReviewItem(props: ReviewItemProps) {
  const { raterId, assignmentId, rows } = props;
  const [state, setState] = useState<ReviewState | null>(null);
  const stateRef = useRef<ReviewState | null>(null);
  const [loadError, setLoadError] = useState<UiError | null>(null);
  const [focus, setFocusRender] = useState<Focus>({ answer: 0, row: 0 });
  // Keys can arrive faster than renders (WebDriver, fast typists): read focus from a ref.
  const focusRef = useRef<Focus>(focus);
  const setFocusState = (f: Focus) => {
    focusRef.current = f;
    setFocusRender(f);
  };
  const [saveStatus, setSaveStatus] = useState<SaveStatus>({ state: "idle" });
  const [showMissing, setShowMissing] = useState(false);
  const [shortcutsOpen, setShortcutsOpenState] = useState(false);
  const shortcutsRef = useRef(false);
  const setShortcutsOpen = (v: boolean | ((o: boolean) => boolean)) => {
    shortcutsRef.current = typeof v === "function" ? v(shortcutsRef.current) : v;
    setShortcutsOpenState(shortcutsRef.current);
  };
  const [helpOpen, setHelpOpen] = useState(false);
  const [submitting, setSubmitting] = useState(false);
  const [actionError, setActionError] = useState<UiError | null>(null);
  const containerRef = useRef<HTMLDivElement>(null);

  const autosave = useMemo(
    () =>
      createAutosave<Payload>({
        delayMs: 400,
        save: async (_key, p) => {
          if (p.kind === "rating") await api.saveRating(raterId, assignmentId, p.label, p.rating);
          else await api.savePreference(raterId, assignmentId, p.value);
        },
        onSaved: (key, p) => {
          const s = stateRef.current;
          if (!s) return;
          stateRef.current = markSaved(s, key as SaveKey, p.revision);
          setState(stateRef.current);
        },
        onStatus: setSaveStatus,
      }),
    [raterId, assignmentId],
  );

  useEffect(() => {
    let live = true;
    api
      .openItem(raterId, assignmentId)
      .then((item) => {
        if (!live) return;
        stateRef.current = fromItem(item);
        setState(stateRef.current);
      })
      .catch((e) => live && setLoadError(toAppError(e)));
    return () => {
      live = false;
      // Whatever was typed in the last 400 ms still goes out.
      autosave.flush().catch(() => undefined);
    };
  }, [raterId, assignmentId, autosave]);

  const rowEl = (f: Focus): HTMLElement | null => {
    const s = stateRef.current;
    const label = s?.labels[f.answer];
    const row = rows[f.row];
    if (!label || !row) return null;
    return containerRef.current?.querySelector<HTMLElement>(`[data-row-key="${label}:${row.id}"]`) ?? null;
  };

  const moveFocus = (f: Focus) => {
    setFocusState(f);
    rowEl(f)?.focus();
  };

  // Put the keyboard on the first row as soon as the item is there.
  const loaded = state !== null;
  useEffect(() => {
    if (loaded && props.active) rowEl({ answer: 0, row: 0 })?.focus();
  }, [loaded]);

  /** Applies an edit and queues saves for whatever it changed. */
  const update = (edit: (s: ReviewState) => ReviewState, immediate: boolean) => {
    const prev = stateRef.current;
    if (!prev) return;
    const next = edit(prev);
    if (next === prev) return;
    stateRef.current = next;
    setState(next);
    for (const key of Object.keys(next.revision) as SaveKey[]) {
      const revision = next.revision[key] ?? 0;
      if (revision === (prev.revision[key] ?? 0)) continue;
      if (key === "preference") {
        // The state only accepts preferences built from the item's own labels.
        autosave.schedule(key, { kind: "preference", value: next.preference! as Preference, revision }, { immediate });
      } else {
        const label = key.slice("rating:".length) as AnswerLabel;
        autosave.schedule(key, { kind: "rating", label, rating: next.ratings[label]!, revision }, { immediate });
      }
    }
  };

  const submit = async () => {
    const s = stateRef.current;
    if (!s || s.readOnly || submitting) return;
    if (missingFields(s, rows).length > 0) {
      setShowMissing(true);
      return;
    }
    setSubmitting(true);
    setActionError(null);
    try {
      await autosave.flush();
      await api.submitItem(raterId, assignmentId);
      props.onSubmitted(assignmentId);
    } catch (e) {
      setActionError(toAppError(e));
      setSubmitting(false);
    }
  };

  const back = async () => {
    try {
      await autosave.flush();
      props.onBack();
    } catch (e) {
      const err = toAppError(e);
      setActionError({ ...err, message: `Your last change could not be saved: ${err.message}` });
    }
  };

  const closeShortcuts = () => {
    setShortcutsOpen(false);
    moveFocus(focusRef.current);
  };

  const run = (a: KeyAction) => {
    switch (a.type) {
      case "score":
        update((s) => setRowValue(s, a.label, a.row, a.value), true);
        return;
      case "clear":
        update((s) => clearRow(s, a.label, a.row), true);
        return;
      case "focus":
        moveFocus(a.focus);
        return;
      case "preference":
        update((s) => setPreference(s, a.value), true);
        return;
      case "submit":
        void submit();
        return;
      case "show-missing":
        setShowMissing(true);
        return;
      case "toggle-shortcuts":
        setShortcutsOpen((o) => !o);
        return;
      case "toggle-help":
        setHelpOpen((o) => !o);
        return;
      case "close-overlays":
        closeShortcuts();
        return;
      case "leave-text":
        moveFocus(focusRef.current);
        return;
    }
  };

  const onKey = useRef<(e: KeyboardEvent) => void>(() => undefined);
  onKey.current = (e: KeyboardEvent) => {
    const s = stateRef.current;
    if (!s || e.defaultPrevented || e.isComposing) return;
    const complete = missingFields(s, rows).length === 0;
    const action = keyAction(
      { key: e.key, target: classifyTarget(e.target), ctrlKey: e.ctrlKey, metaKey: e.metaKey, altKey: e.altKey },
      { focus: focusRef.current, labels: s.labels, rows, readOnly: s.readOnly, complete, overlayOpen: shortcutsRef.current },
    );
    if (!action) return;
    e.preventDefault();
    run(action);
  };
  useEffect(() => {
    if (!props.active) return;
    const listener = (e: KeyboardEvent) => onKey.current(e);
    document.addEventListener("keydown", listener);
    return () => document.removeEventListener("keydown", listener);
  }, [props.active]);

  if (loadError) {
    return (
      <div class="review">
        <ErrorBox error={loadError} testid="item-error" />
        <button type="button" data-testid="back-to-queue" onClick={props.onBack}>
          ← Back to queue
        </button>
      </div>
    );
  }
  if (!state) return <Busy testid="item-loading">Opening the item…</Busy>;

  const missing = missingFields(state, rows);
  const prefs = preferenceOptions(state.labels);

  return (
    <div class="review" ref={containerRef} data-testid="review-item" data-assignment-id={state.assignmentId}>
      <div class="review-toolbar">
        <button type="button" data-testid="back-to-queue" onClick={() => void back()}>
          ← Queue
        </button>
        <span class="spacer" />
        <SaveStatusLine status={saveStatus} />
        <button
          type="button"
          data-testid="help-toggle"
          aria-pressed={helpOpen}
          onClick={() => setHelpOpen((o) => !o)}
        >
          Rubric anchors <kbd>h</kbd>
        </button>
        <button type="button" data-testid="shortcuts-toggle" onClick={() => setShortcutsOpen(true)}>
          Shortcuts <kbd>?</kbd>
        </button>
      </div>

      {state.readOnly && (
        <p class="notice" data-testid="readonly-banner">
          This item has been submitted. It is shown read-only.
        </p>
      )}

      <section class="case" aria-labelledby="case-heading">
        <h2 id="case-heading">{state.kind === "vignette" ? "Clinical vignette" : "Patient question"}</h2>
        <p class="case-text" data-testid="item-text">
          {state.text}
        </p>
      </section>

      {helpOpen && <HelpPanel rows={rows} onClose={() => setHelpOpen(false)} />}

      <div class="review-body">
        <div class={`answers answers-${state.labels.length}`}>
          {state.labels.map((label, ai) => (
            <article class="answer" key={label} data-testid={`answer-${label}`} aria-label={answerName(label)}>
              <h3>{answerName(label)}</h3>
              <div class="answer-text" data-testid={`answer-text-${label}`} tabIndex={0}>
                {state.answerText[label]}
              </div>
              <div class="rubric">
                {rows.map((row, ri) => (
                  <RubricRow
                    key={row.id}
                    label={label}
                    row={row}
                    value={state.ratings[label]![row.id]}
                    focused={focus.answer === ai && focus.row === ri}
                    readOnly={state.readOnly}
                    first={ri === 0}
                    onFocus={() => setFocusState({ answer: ai, row: ri })}
                    onPick={(v) => {
                      update((s) => setRowValue(s, label, row.id, v), true);
                      moveFocus({ answer: ai, row: ri });
                    }}
                  />
                ))}
              </div>
              <label class="field">
                <span class="field-label">Comment</span>
                <textarea
                  rows={2}
                  data-testid={`comment-${label}`}
                  value={state.ratings[label]!.comment ?? ""}
                  readOnly={state.readOnly}
                  onInput={(e) =>
                    update((s) => setRatingField(s, label, "comment", e.currentTarget.value), false)
                  }
                />
              </label>
              <label class="field">
                <span class="field-label">Corrected answer (optional)</span>
                <textarea
                  rows={3}
                  data-testid={`corrected-${label}`}
                  value={state.ratings[label]!.corrected_answer ?? ""}
                  readOnly={state.readOnly}
                  onInput={(e) =>
                    update((s) => setRatingField(s, label, "corrected_answer", e.currentTarget.value), false)
                  }
                />
              </label>
            </article>
          ))}
        </div>
      </div>

      <section class="preference" aria-labelledby="pref-heading">
        <h3 id="pref-heading">Which answer is better?</h3>
        <div class="pref-options" role="radiogroup" aria-labelledby="pref-heading">
          {prefs.map((p) => {
            const id = p.value.startsWith("better:") ? p.value.slice("better:".length) : p.value;
            return (
              <button
                type="button"
                key={p.value}
                role="radio"
                aria-checked={state.preference === p.value}
                aria-disabled={state.readOnly}
                class={`opt pref${state.preference === p.value ? " selected" : ""}`}
                data-testid={`pref-${id}`}
                onClick={() => update((s) => setPreference(s, p.value), true)}
              >
                {p.label} <kbd>{p.key}</kbd>
              </button>
            );
          })}
        </div>
      </section>

      <div class="submit-bar">
        {showMissing && missing.length > 0 && (
          <div class="missing" role="alert" data-testid="missing-list">
            <strong>Before submitting, please complete:</strong>
            <ul>
              {missing.map((m) => (
                <li key={`${m.label}:${m.field}`}>{m.message}</li>
              ))}
            </ul>
          </div>
        )}
        <ErrorBox error={actionError} testid="submit-error" onDismiss={() => setActionError(null)} />
        <div class="submit-row">
          <FocusHint state={state} rows={rows} focus={focus} />
          {!state.readOnly && (
            <span class="muted" data-testid="missing-count">
              {missing.length === 0 ? "Complete — ready to submit" : `${missing.length} field(s) left`}
            </span>
          )}
          <button
            type="button"
            class="primary"
            data-testid="submit"
            disabled={state.readOnly || submitting}
            onClick={() => void submit()}
          >
            {submitting ? "Submitting…" : state.readOnly ? "Submitted" : "Submit"} {!state.readOnly && <kbd>Enter</kbd>}
          </button>
        </div>
      </div>

      {shortcutsOpen && <ShortcutsOverlay labels={state.labels} onClose={closeShortcuts} />}
    </div>
  );
}

function SaveStatusLine(props: { status: SaveStatus }) {
  const s = props.status;
  const text =
    s.state === "saving"
      ? "Saving…"
      : s.state === "saved"
        ? "Saved ✓"
        : s.state === "error"
          ? `Not saved: ${s.message}`
          : "No changes yet";
  return (
    <span class={`save-status save-${s.state}`} data-testid="save-status" data-state={s.state} role="status" aria-live="polite">
      {text}
    </span>
  );
}

/** The anchors of the focused row, in one line at the bottom, so nothing shifts while moving. */
function FocusHint(props: { state: ReviewState; rows: readonly RowDef[]; focus: Focus }) {
  const label = props.state.labels[props.focus.answer];
  const row = props.rows[props.focus.row];
  if (!label || !row) return <span class="hint" />;
  return (
    <span class="hint" data-testid="row-hint" aria-live="polite">
      <strong>
        {answerName(label)} · {row.label}:
      </strong>{" "}
      {rowHint(row)}
    </span>
  );
}

function rowHint(row: RowDef): string {
  if (row.kind === "choice") {
    return `keys 1–${row.options.length}: ${row.options.map((o, i) => `${i + 1} ${o.label}`).join(" · ")}`;
  }
  const listed = Object.entries(row.anchors)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([k, v]) => `${k} ${v}`)
    .join(" · ");
  const keys = `keys ${row.min}–${row.max}`;
  return listed ? `${keys} — ${listed}` : keys;
}

function RubricRow(props: {
  label: string;
  row: RowDef;
  value: unknown;
  focused: boolean;
  readOnly: boolean;
  first: boolean;
  onFocus: () => void;
  onPick: (v: number | string) => void;
}) {
  const { label, row } = props;
  const options =
    row.kind === "score"
      ? Array.from({ length: row.max - row.min + 1 }, (_, i) => {
          const v = row.min + i;
          return { value: v as number | string, text: String(v), title: row.anchors[String(v)] ?? `${row.label} ${v}`, testid: `score-${label}-${row.id}-${v}` };
        })
      : row.options.map((o, i) => ({
          value: o.value as number | string,
          text: SHORT_CHOICE[o.value] ?? o.label,
          title: `${i + 1}: ${o.label}`,
          testid: `${row.id === "harm" ? "harm" : "likelihood"}-${label}-${o.value}`,
        }));
  return (
    <div
      class={`row${props.focused ? " focused" : ""}${row.id === "harm" ? " safety-start" : ""}`}
      data-row=""
      data-row-key={`${label}:${row.id}`}
      data-testid={`row-${label}-${row.id}`}
      role="radiogroup"
      aria-label={`${answerName(label)}: ${row.label}`}
      tabIndex={0}
      onFocusIn={props.onFocus}
    >
      <span class="row-label">{row.label}</span>
      <div class={`options options-${row.kind}`}>
        {options.map((o) => {
          const selected = props.value === o.value;
          return (
            <button
              type="button"
              key={String(o.value)}
              role="radio"
              aria-checked={selected}
              aria-disabled={props.readOnly}
              tabIndex={-1}
              title={o.title}
              class={`opt${selected ? " selected" : ""}`}
              data-testid={o.testid}
              onClick={() => !props.readOnly && props.onPick(o.value)}
            >
              {o.text}
            </button>
          );
        })}
      </div>
    </div>
  );
}

function HelpPanel(props: { rows: readonly RowDef[]; onClose: () => void }) {
  return (
    <aside class="help-panel" data-testid="help-panel" aria-label="Rubric anchors">
      <div class="help-head">
        <h3>Rubric anchors</h3>
        <button type="button" class="link" onClick={props.onClose}>
          Hide
        </button>
      </div>
      <div class="help-grid">
      {props.rows.map((row) =>
        row.kind === "score" ? (
          <section key={row.id}>
            <h4>
              {row.label} ({row.min}–{row.max})
            </h4>
            {Object.keys(row.anchors).length === 0 ? (
              <p class="muted">No anchors defined.</p>
            ) : (
              <dl>
                {Object.entries(row.anchors)
                  .sort(([a], [b]) => Number(a) - Number(b))
                  .map(([k, v]) => (
                    <div key={k} class="anchor">
                      <dt>{k}</dt>
                      <dd>{v}</dd>
                    </div>
                  ))}
              </dl>
            )}
          </section>
        ) : (
          <section key={row.id}>
            <h4>{row.label}</h4>
            <p>{row.options.map((o, i) => `${i + 1} ${o.label}`).join(" · ")}</p>
          </section>
        ),
      )}
      </div>
      <p class="muted">
        A likelihood is needed only when harm is flagged. Answers are blinded and shown in a random order for each
        rater.
      </p>
    </aside>
  );
}

function ShortcutsOverlay(props: { labels: readonly string[]; onClose: () => void }) {
  const closeRef = useRef<HTMLButtonElement>(null);
  useEffect(() => closeRef.current?.focus(), []);
  return (
    <div class="overlay" onClick={props.onClose}>
      <div
        class="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="shortcuts-heading"
        data-testid="shortcuts-overlay"
        onClick={(e) => e.stopPropagation()}
      >
        <h3 id="shortcuts-heading">Keyboard shortcuts</h3>
        <table class="shortcuts">
          <tbody>
            {shortcutList(props.labels).map((s) => (
              <tr key={s.keys}>
                <th>
                  <kbd>{s.keys}</kbd>
                </th>
                <td>{s.what}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" ref={closeRef} data-testid="shortcuts-close" onClick={props.onClose}>
          Close <kbd>Esc</kbd>
        </button>
      </div>
    </div>
  );
}
