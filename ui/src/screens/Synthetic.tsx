// The expert's approval queue for synthetic items (stage 1 of the loop): one pending item
// at a time with the seed facts it cites beside it, decided with the keyboard (A approve,
// E edit, R reject with a reason, J/K move); then the augmentation runs and the balance
// of the synthetic pool. Decisions are final in the core: there is no undo, so a
// rejection asks for its reason first and an edit opens the fields before anything is sent.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, toAppError } from "../api";
import type { AugmentOverview, AugmentRunView, ReviewCounts, ReviewDecision, SyntheticItem, UiError } from "../api";
import type { KeyTarget, Mode, QueueAction } from "../augment/queue";
import { afterDecision, countsLine, editProblem, keyAction, moveIndex, SHORTCUTS, strataChips } from "../augment/queue";
import { BALANCE_BOX, layoutBalance } from "../augment/balance";
import { Busy, Chip, ErrorBox, Field } from "../components/common";
import { useAction } from "../components/useAction";
import { storedRaterId } from "./Review";

/** Most pending items read at once; the rest come after these are decided. */
const QUEUE_LIMIT = 200;
const EXPERT_KEY = "llm4sweat.expertName";

function storedExpertName(): string {
  try {
    return localStorage.getItem(EXPERT_KEY) ?? "";
  } catch {
    return "";
  }
}
function storeExpertName(name: string) {
  try {
    localStorage.setItem(EXPERT_KEY, name);
  } catch {
    // Storage may be unavailable; the name then lasts for this session only.
  }
}

/** Where a key was pressed, for the queue's shortcuts. */
export function classifyTarget(el: EventTarget | null): KeyTarget {
  if (!(el instanceof Element)) return "other";
  if (el.closest("textarea, input, select, [contenteditable='true'], [contenteditable='']")) return "text";
  if (el.closest("button, a, summary")) return "button";
  return "other";
}

/** Who decides: the rater profile chosen on the Review screen, else a typed name. */
function useExpert(active: boolean) {
  const [profile, setProfile] = useState<string | null>(null);
  const [typed, setTyped] = useState(storedExpertName);
  useEffect(() => {
    if (!active) return;
    const id = storedRaterId();
    if (id === null) {
      setProfile(null);
      return;
    }
    api
      .listRaters()
      .then((list) => setProfile(list.find((r) => r.id === id)?.name ?? null))
      .catch(() => setProfile(null));
  }, [active]);
  const setName = (name: string) => {
    setTyped(name);
    storeExpertName(name);
  };
  return { name: (profile ?? typed).trim(), profile, typed, setName };
}

export function SyntheticScreen(props: { active: boolean }) {
  const [items, setItems] = useState<SyntheticItem[] | null>(null);
  const [counts, setCounts] = useState<ReviewCounts | null>(null);
  const [overview, setOverview] = useState<AugmentOverview | null>(null);
  const [loadError, setLoadError] = useState<UiError | null>(null);
  const [index, setIndex] = useState(0);
  const [mode, setMode] = useState<Mode>("browse");
  const [draft, setDraft] = useState({ text: "", answer: "" });
  const [reason, setReason] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const [shortcutsOpen, setShortcutsOpen] = useState(false);
  const action = useAction();
  const expert = useExpert(props.active);
  const cardRef = useRef<HTMLElement>(null);
  const textRef = useRef<HTMLTextAreaElement>(null);
  const reasonRef = useRef<HTMLInputElement>(null);
  const nameRef = useRef<HTMLInputElement>(null);

  const loadOverview = () =>
    api
      .augmentOverview()
      .then(setOverview)
      .catch((e) => setLoadError(toAppError(e)));
  const reload = async () => {
    try {
      const q = await api.syntheticQueue("pending", QUEUE_LIMIT);
      setItems(q.items);
      setCounts(q.counts);
      setIndex((i) => Math.min(i, Math.max(0, q.items.length - 1)));
      setLoadError(null);
    } catch (e) {
      setItems((current) => current ?? []);
      setLoadError(toAppError(e));
    }
    await loadOverview();
  };
  useEffect(() => {
    if (props.active && mode === "browse") void reload();
  }, [props.active]);

  const list = items ?? [];
  const current: SyntheticItem | undefined = list[index];

  useEffect(() => {
    if (mode === "edit") textRef.current?.focus();
    else if (mode === "reject") reasonRef.current?.focus();
    else if (props.active) cardRef.current?.focus({ preventScroll: true });
  }, [mode, current?.external_id]);

  const browse = () => {
    setMode("browse");
    action.setError(null);
  };

  const needExpert = (): boolean => {
    if (expert.name !== "") return false;
    action.setError({
      code: "invalid_input",
      message: "Type your name first: it is recorded with each decision (or choose a rater profile on the Review screen).",
      details: null,
    });
    nameRef.current?.focus();
    return true;
  };

  const decide = async (item: SyntheticItem, decision: ReviewDecision, said: string) => {
    if (needExpert()) return;
    const outcome = await action.run(decision.decision, () => api.reviewSynthetic(item.external_id, decision, expert.name));
    if (!outcome) return;
    setCounts(outcome.counts);
    const next = afterDecision(list, index, item.external_id);
    setItems(next.items);
    setIndex(next.index);
    setMode("browse");
    setNotice(`${said} ${item.external_id}.`);
    void loadOverview();
  };

  const run = (a: QueueAction) => {
    switch (a.type) {
      case "move":
        setIndex((i) => moveIndex(i, a.by, list.length));
        setNotice(null);
        action.setError(null);
        return;
      case "toggle-shortcuts":
        setShortcutsOpen((o) => !o);
        return;
      case "cancel":
        browse();
        return;
      case "leave-text":
        cardRef.current?.focus({ preventScroll: true });
        return;
    }
    if (!current) return;
    switch (a.type) {
      case "approve":
        void decide(current, { decision: "approve" }, "Approved");
        return;
      case "start-edit":
        setDraft({ text: current.text, answer: current.answer });
        action.setError(null);
        setMode("edit");
        return;
      case "save-edit": {
        const problem = editProblem(current, draft.text, draft.answer);
        if (problem) {
          action.setError({ code: "invalid_input", message: problem, details: null });
          return;
        }
        void decide(current, { decision: "edit", text: draft.text.trim(), answer: draft.answer.trim() }, "Edited and approved");
        return;
      }
      case "start-reject":
        setReason("");
        action.setError(null);
        setMode("reject");
        return;
      case "confirm-reject":
        if (reason.trim() === "") {
          action.setError({ code: "invalid_input", message: "Say why the item is rejected, then press Enter.", details: null });
          return;
        }
        void decide(current, { decision: "reject", reason: reason.trim() }, "Rejected");
        return;
    }
  };

  const onKey = useRef<(e: KeyboardEvent) => void>(() => undefined);
  onKey.current = (e: KeyboardEvent) => {
    if (e.defaultPrevented || e.isComposing) return;
    const a = keyAction(
      { key: e.key, target: classifyTarget(e.target), ctrlKey: e.ctrlKey, metaKey: e.metaKey, altKey: e.altKey, shiftKey: e.shiftKey },
      { mode, count: list.length, busy: action.busy !== null },
    );
    if (!a) return;
    e.preventDefault();
    run(a);
  };
  useEffect(() => {
    if (!props.active) return;
    const listener = (e: KeyboardEvent) => onKey.current(e);
    document.addEventListener("keydown", listener);
    return () => document.removeEventListener("keydown", listener);
  }, [props.active]);

  return (
    <div class="screen screen-wide synthetic" data-testid="screen-synthetic">
      <div class="screen-head">
        <h1>Synthetic items</h1>
        <div class="toolbar">
          {counts && (
            <span
              class="synthetic-counts"
              data-testid="synthetic-counts"
              data-pending={counts.pending}
              data-approved={counts.approved}
              data-rejected={counts.rejected}
            >
              {countsLine(counts)}
            </span>
          )}
          <button type="button" data-testid="synthetic-refresh" disabled={mode !== "browse"} onClick={() => void reload()}>
            Refresh
          </button>
        </div>
      </div>
      <p class="muted">
        Generated items enter training only once an expert approves them. Check each one against the seed facts it
        cites.{" "}
        <span class="shortcut-legend">
          <kbd>A</kbd> approve · <kbd>E</kbd> edit · <kbd>R</kbd> reject · <kbd>J</kbd>/<kbd>K</kbd> next/previous ·{" "}
          <kbd>?</kbd> all keys. Decisions are final.
        </span>
      </p>
      {expert.profile ? (
        <p data-testid="synthetic-expert-current">
          Deciding as <strong>{expert.profile}</strong> (the rater profile chosen on the Review screen)
        </p>
      ) : (
        <div class="synthetic-expert">
          <Field label="Your name" hint="Recorded with each decision; remembered on this computer.">
            <input
              ref={nameRef}
              data-testid="synthetic-expert"
              value={expert.typed}
              onInput={(e) => expert.setName((e.target as HTMLInputElement).value)}
              placeholder="Dr. …"
            />
          </Field>
        </div>
      )}
      {shortcutsOpen && (
        <table class="shortcuts card" data-testid="synthetic-shortcuts">
          <tbody>
            {SHORTCUTS.map((s) => (
              <tr key={s.keys}>
                <th>
                  <kbd>{s.keys}</kbd>
                </th>
                <td>{s.what}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <ErrorBox error={loadError} testid="synthetic-load-error" onDismiss={() => setLoadError(null)} />
      {items === null ? (
        <Busy>Loading the review queue…</Busy>
      ) : !current ? (
        <p class="empty" data-testid="synthetic-empty">
          No synthetic items await review.
          {counts && counts.approved + counts.rejected > 0 ? ` ${counts.approved} approved and ${counts.rejected} rejected so far.` : ""} Generate
          some with <code>llm4sweat augment run --generator NAME --count N</code>.
        </p>
      ) : (
        <div class="synthetic-layout">
          <article
            class="card synthetic-item"
            ref={cardRef}
            tabIndex={-1}
            data-testid="synthetic-item"
            data-external-id={current.external_id}
            data-mode={mode}
            aria-label={`Synthetic item ${current.external_id}`}
          >
            <header class="synthetic-head">
              <code data-testid="synthetic-id">{current.external_id}</code>
              <Chip kind="kind" testid="synthetic-kind">
                {current.kind}
              </Chip>
              <Chip kind="category" testid="synthetic-category">
                {current.category}
              </Chip>
              <span class="spacer" />
              <span class="muted" data-testid="synthetic-position">
                {index + 1} of {list.length}
                {counts && counts.pending > list.length ? ` (${counts.pending} pending)` : ""}
              </span>
            </header>
            <div class="synthetic-strata" data-testid="synthetic-strata">
              {strataChips(current.strata).map((s) => (
                <span class="chip chip-stratum" key={s.axis} title={s.axis}>
                  <span class="muted">{s.axis.replace(/_/g, " ")}:</span> {s.value}
                </span>
              ))}
            </div>
            {mode === "edit" ? (
              <div class="synthetic-edit">
                <Field label={current.kind === "vignette" ? "Vignette" : "Question"}>
                  <textarea
                    ref={textRef}
                    rows={5}
                    data-testid="synthetic-edit-text"
                    value={draft.text}
                    onInput={(e) => setDraft((d) => ({ ...d, text: (e.target as HTMLTextAreaElement).value }))}
                  />
                </Field>
                <Field label="Reference answer" hint="The original is kept with your name.">
                  <textarea
                    rows={7}
                    data-testid="synthetic-edit-answer"
                    value={draft.answer}
                    onInput={(e) => setDraft((d) => ({ ...d, answer: (e.target as HTMLTextAreaElement).value }))}
                  />
                </Field>
              </div>
            ) : (
              <>
                <h3>{current.kind === "vignette" ? "Vignette" : "Question"}</h3>
                <div class="synthetic-text" data-testid="synthetic-text">
                  {current.text}
                </div>
                <h3>Reference answer</h3>
                <div class="synthetic-text" data-testid="synthetic-answer">
                  {current.answer}
                </div>
              </>
            )}
            {mode === "reject" && (
              <div class="synthetic-reject">
                <Field label="Why is it rejected?" hint="Enter rejects the item (final) · Esc cancels">
                  <input
                    ref={reasonRef}
                    data-testid="synthetic-reject-reason"
                    value={reason}
                    onInput={(e) => setReason((e.target as HTMLInputElement).value)}
                    placeholder="e.g. contradicts fact trt-02"
                  />
                </Field>
              </div>
            )}
            <ErrorBox error={action.error} testid="synthetic-error" onDismiss={() => action.setError(null)} />
            {notice && !action.error && (
              <p class="notice success" role="status" data-testid="synthetic-notice">
                {notice}
              </p>
            )}
            <div class="toolbar">
              {mode === "browse" && (
                <>
                  <button type="button" class="primary" data-testid="synthetic-approve" disabled={action.busy !== null} onClick={() => run({ type: "approve" })}>
                    Approve <kbd>A</kbd>
                  </button>
                  <button type="button" data-testid="synthetic-edit" disabled={action.busy !== null} onClick={() => run({ type: "start-edit" })}>
                    Edit <kbd>E</kbd>
                  </button>
                  <button type="button" data-testid="synthetic-reject" disabled={action.busy !== null} onClick={() => run({ type: "start-reject" })}>
                    Reject <kbd>R</kbd>
                  </button>
                  <span class="spacer" />
                  <button type="button" data-testid="synthetic-prev" disabled={list.length < 2} onClick={() => run({ type: "move", by: -1 })}>
                    Previous <kbd>K</kbd>
                  </button>
                  <button type="button" data-testid="synthetic-next" disabled={list.length < 2} onClick={() => run({ type: "move", by: 1 })}>
                    Next <kbd>J</kbd>
                  </button>
                </>
              )}
              {mode === "edit" && (
                <>
                  <button type="button" class="primary" data-testid="synthetic-edit-save" disabled={action.busy !== null} onClick={() => run({ type: "save-edit" })}>
                    {action.busy === "edit" ? "Saving…" : "Save and approve"} <kbd>Ctrl+Enter</kbd>
                  </button>
                  <button type="button" data-testid="synthetic-cancel" onClick={browse}>
                    Cancel <kbd>Esc</kbd>
                  </button>
                </>
              )}
              {mode === "reject" && (
                <>
                  <button type="button" class="danger" data-testid="synthetic-reject-confirm" disabled={action.busy !== null} onClick={() => run({ type: "confirm-reject" })}>
                    {action.busy === "reject" ? "Rejecting…" : "Reject"} <kbd>Enter</kbd>
                  </button>
                  <button type="button" data-testid="synthetic-cancel" onClick={browse}>
                    Cancel <kbd>Esc</kbd>
                  </button>
                </>
              )}
            </div>
          </article>
          <aside class="card synthetic-facts" data-testid="synthetic-facts" aria-label="Cited seed facts">
            <h2>Cited facts ({current.facts.length})</h2>
            {current.facts.length === 0 ? (
              <p class="muted">This item cites no seed fact.</p>
            ) : (
              <ol class="fact-list">
                {current.facts.map((f) => (
                  <li key={f.id} data-testid="synthetic-fact" data-fact-id={f.id}>
                    <div class="fact-head">
                      <code>{f.id}</code> <Chip kind="topic">{f.topic.replace(/_/g, " ")}</Chip>
                    </div>
                    <p>{f.statement}</p>
                  </li>
                ))}
              </ol>
            )}
          </aside>
        </div>
      )}
      {overview && <AugmentPanel overview={overview} />}
    </div>
  );
}

const usd = (v: number | null) => (v === null ? "—" : `$${v < 0.01 && v > 0 ? v.toFixed(4) : v.toFixed(2)}`);
const reasonText = (r: string) => r.replace(/_/g, " ");

/** The runs with their rejections, and the pool's balance. */
function AugmentPanel(props: { overview: AugmentOverview }) {
  const { runs, balance } = props.overview;
  return (
    <section class="card augment-runs" data-testid="augment-runs">
      <h2>Augmentation runs</h2>
      {runs.length === 0 ? (
        <p class="muted" data-testid="augment-runs-empty">
          No runs yet.
        </p>
      ) : (
        <table class="augment-run-table">
          <thead>
            <tr>
              <th>Run</th>
              <th>Generator</th>
              <th>Status</th>
              <th>Accepted / requested</th>
              <th>Rejected</th>
              <th>Tokens (prompt + completion)</th>
              <th>Cost</th>
              <th>Rejection reasons</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((r) => (
              <RunRow key={r.id} run={r} />
            ))}
          </tbody>
        </table>
      )}
      {balance.length > 0 && <BalanceChart overview={props.overview} />}
    </section>
  );
}

function RunRow(props: { run: AugmentRunView }) {
  const r = props.run;
  return (
    <tr data-testid="augment-run" data-run-id={r.id}>
      <td>{r.id}</td>
      <td>{r.generator}</td>
      <td>
        <Chip kind={r.status}>{r.status}</Chip>
      </td>
      <td data-testid="augment-run-accepted">
        {r.accepted} / {r.requested}
      </td>
      <td>{r.rejected}</td>
      <td>
        {r.prompt_tokens.toLocaleString("en-US")} + {r.completion_tokens.toLocaleString("en-US")}
      </td>
      <td>{usd(r.cost_usd)}</td>
      <td data-testid="augment-run-reasons">
        {r.rejections.length === 0 ? "—" : r.rejections.map((x) => `${reasonText(x.reason)} ${x.count}`).join(" · ")}
      </td>
    </tr>
  );
}

/** Items per value of each quota axis (not counting rejected items), with max/min ratios. */
function BalanceChart(props: { overview: AugmentOverview }) {
  const b = BALANCE_BOX;
  const width = b.labelWidth + b.barWidth + b.countWidth;
  return (
    <figure class="augment-balance" data-testid="augment-balance">
      <figcaption class="muted">
        Balance of the synthetic pool (items not rejected) per quota axis, each scaled to its largest value. Orange: the
        least-filled values, which the next run fills first.
      </figcaption>
      <div class="balance-axes">
        {props.overview.balance.map((axis) => {
          const l = layoutBalance([axis]);
          const a = l.axes[0]!;
          return (
            <svg
              key={a.axis}
              width={width}
              height={l.height}
              viewBox={`0 0 ${width} ${l.height}`}
              role="img"
              aria-label={`Items per ${a.axis}`}
              data-testid="augment-balance-axis"
              data-axis={a.axis}
            >
              <text x={0} y={a.y + 13} class="chart-label axis-name">
                {a.axis.replace(/_/g, " ")}
              </text>
              <text x={width} y={a.y + 13} text-anchor="end" class={`chart-label${a.uneven ? " uneven" : ""}`} data-testid="augment-balance-ratio">
                {a.ratioLabel}
              </text>
              {a.bars.map((bar) => (
                <g key={bar.value}>
                  <text x={b.labelWidth - 8} y={bar.y + 13} text-anchor="end" class="chart-label">
                    {bar.value.replace(/_/g, " ")}
                  </text>
                  <rect x={b.labelWidth} y={bar.y + 3} width={bar.width} height={b.row - 6} class={bar.least ? "bar-least" : "bar-count"} />
                  <text x={b.labelWidth + bar.width + 4} y={bar.y + 13} class="chart-label">
                    {bar.count}
                  </text>
                </g>
              ))}
            </svg>
          );
        })}
      </div>
    </figure>
  );
}
