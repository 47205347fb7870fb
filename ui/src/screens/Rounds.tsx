// Retraining rounds: build the next round's checked dataset, fine-tune on this machine
// (progress, cancel, resume), watch the loss curve, and open the blinded study of the
// resulting model. The coordinator's view: model names are shown.
import { useEffect, useState } from "preact/hooks";
import { api, toAppError } from "../api";
import type { DatasetSummary, ModelView, RoundView, UiError } from "../api";
import { Busy, Chip, ErrorBox, Field, ProgressBar } from "../components/common";
import { useAction } from "../components/useAction";
import { useJob } from "../components/useJob";
import { useLoaded } from "../components/useLoaded";
import { jobStart } from "../jobs";
import { CURVE_BOX, layoutCurve } from "../rounds/curve";

export function RoundsScreen(props: { active: boolean }) {
  const { data: rounds, setData: setRounds, error, setError, reload } = useLoaded(() => api.listRounds(), props.active, [] as RoundView[]);
  const [models, setModels] = useState<ModelView[]>([]);
  const [base, setBase] = useState("");
  const [valFraction, setValFraction] = useState("0.1");
  const [seed, setSeed] = useState("");
  const action = useAction();

  useEffect(() => {
    if (props.active) {
      api
        .listModels()
        .then((m) => setModels(m.filter((x) => x.kind === "local")))
        .catch((e) => setError(toAppError(e)));
    }
  }, [props.active]);

  const replace = (r: RoundView) => setRounds((list) => (list ?? []).map((x) => (x.number === r.number ? r : x)));

  const create = async (e: Event) => {
    e.preventDefault();
    const fraction = Number(valFraction);
    const seedValue = seed.trim() === "" ? null : Number(seed);
    if (!(fraction > 0 && fraction < 1)) {
      action.setError({ code: "invalid_input", message: "The validation share must be between 0 and 1 (for example 0.1).", details: null });
      return;
    }
    if (seedValue !== null && !(Number.isInteger(seedValue) && seedValue >= 0 && seedValue < 2 ** 32)) {
      action.setError({ code: "invalid_input", message: "The seed must be a whole number from 0 to 4294967295, or empty.", details: null });
      return;
    }
    const created = await action.run("create", () => api.newRound({ base_model: base || null, seed: seedValue, val_fraction: fraction }));
    if (created) setRounds((list) => [...(list ?? []), created]);
  };

  return (
    <div class="screen" data-testid="screen-rounds">
      <div class="screen-head">
        <h1>Rounds</h1>
        <div class="toolbar">
          <button type="button" data-testid="round-refresh" onClick={() => void reload()}>
            Refresh
          </button>
        </div>
      </div>
      <ErrorBox error={error} testid="rounds-error" onDismiss={() => setError(null)} />
      <form class="card" onSubmit={create} data-testid="round-new-form">
        <h2>New round</h2>
        <p class="muted">
          Snapshots the pack's training pairs, approved synthetic items and expert-validated or corrected answers; drops
          near-duplicates, refuses anything close to an evaluation item, and splits each category into training and
          validation.
        </p>
        <div class="form-row">
          <Field label="Base model" hint="Default: the last round's model, else the default model">
            <select value={base} onChange={(e) => setBase((e.target as HTMLSelectElement).value)} data-testid="round-base">
              <option value="">Default</option>
              {models.map((m) => (
                <option key={m.name} value={m.name}>
                  {m.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Validation share" hint="Of each category">
            <input value={valFraction} onInput={(e) => setValFraction((e.target as HTMLInputElement).value)} data-testid="round-val" inputMode="decimal" />
          </Field>
          <Field label="Seed" hint="Empty: drawn and stored">
            <input value={seed} onInput={(e) => setSeed((e.target as HTMLInputElement).value)} data-testid="round-seed" inputMode="numeric" />
          </Field>
        </div>
        <ErrorBox error={action.error} testid="round-new-error" onDismiss={() => action.setError(null)} />
        <div class="toolbar">
          <button type="submit" class="primary" disabled={action.busy !== null} data-testid="round-create">
            {action.busy === "create" ? "Building dataset…" : "Build dataset"}
          </button>
        </div>
      </form>
      {rounds === null && !error && <Busy>Loading rounds…</Busy>}
      {rounds && rounds.length === 0 && (
        <p class="empty" data-testid="rounds-empty">
          No rounds yet. A round fine-tunes a model on a checked dataset and opens a blinded study of the result.
        </p>
      )}
      {rounds
        ?.slice()
        .reverse()
        .map((r) => (
          <RoundCard key={r.number} round={r} onChanged={replace} />
        ))}
    </div>
  );
}

function RoundCard(props: { round: RoundView; onChanged: (r: RoundView) => void }) {
  const r = props.round;
  const { job, run, cancel } = useJob();
  const [epochs, setEpochs] = useState(String(r.params?.epochs ?? 2));
  const [lr, setLr] = useState(String(r.params?.learning_rate ?? 0.00001));
  const [context, setContext] = useState(String(r.params?.context ?? 256));
  const [error, setError] = useState<UiError | null>(null);
  const [study, setStudy] = useState<string | null>(null);
  const action = useAction();

  // While training runs, the curve is read back from the workspace every few seconds.
  useEffect(() => {
    if (!job) return;
    const timer = setInterval(() => {
      api
        .listRounds()
        .then((all) => {
          const mine = all.find((x) => x.number === r.number);
          if (mine) props.onChanged(mine);
        })
        .catch(() => undefined);
    }, 3000);
    return () => clearInterval(timer);
  }, [job?.id]);

  const train = async () => {
    setError(null);
    const input = { epochs: Number(epochs), learning_rate: Number(lr), context: Number(context) };
    if (!(Number.isInteger(input.epochs) && input.epochs >= 1 && input.epochs <= 100)) {
      setError({ code: "invalid_input", message: "Epochs must be a whole number from 1 to 100.", details: null });
      return;
    }
    if (!(input.learning_rate > 0 && input.learning_rate < 1)) {
      setError({ code: "invalid_input", message: "The learning rate must be between 0 and 1 (for example 0.00001).", details: null });
      return;
    }
    if (!(Number.isInteger(input.context) && input.context >= 256 && input.context % 256 === 0)) {
      setError({ code: "invalid_input", message: "The context must be a multiple of 256 tokens (256, 512…).", details: null });
      return;
    }
    try {
      const done = await run("train", `Round ${r.number}`, jobStart("Starting the training process…"), (id, events) =>
        api.trainRound(id, r.number, input, events),
      );
      props.onChanged(done);
    } catch (e) {
      setError(toAppError(e));
      const all = await api.listRounds().catch(() => null);
      const mine = all?.find((x) => x.number === r.number);
      if (mine) props.onChanged(mine);
    }
  };

  const evaluate = async () => {
    const s = await action.run("evaluate", () => api.evaluateRound(r.number));
    if (!s) return;
    setStudy(s.name);
    const all = await api.listRounds().catch(() => null);
    const mine = all?.find((x) => x.number === r.number);
    if (mine) props.onChanged(mine);
  };

  const p = job?.progress;
  const trainable = r.status === "dataset_ready" || r.status === "failed" || r.status === "training";
  const resumable = r.epochs_done > 0 && r.status === "dataset_ready";
  return (
    <article class="card round" data-testid="round-card" data-round={r.number}>
      <header class="study-head">
        <h2>Round {r.number}</h2>
        <Chip kind={r.status} testid="round-status">
          {r.status.replace("_", " ")}
        </Chip>
      </header>
      <dl class="facts">
        <div>
          <dt>Base model</dt>
          <dd>{r.base_model ?? "—"}</dd>
        </div>
        <div>
          <dt>Resulting model</dt>
          <dd data-testid="round-model">{r.model ?? "—"}</dd>
        </div>
        <div>
          <dt>Examples</dt>
          <dd data-testid="round-examples">
            {r.summary ? `${r.summary.total} (${r.summary.train} train, ${r.summary.val} validation)` : "—"}
          </dd>
        </div>
        <div>
          <dt>Validation loss</dt>
          <dd data-testid="round-loss">
            {r.val_loss_before !== null ? r.val_loss_before.toFixed(3) : "—"}
            {r.val_loss_after !== null ? ` → ${r.val_loss_after.toFixed(3)}` : r.epochs.length ? ` → ${(r.epochs[r.epochs.length - 1].val_loss ?? NaN).toFixed(3)}` : ""}
          </dd>
        </div>
        <div>
          <dt>Dataset</dt>
          <dd title={r.dataset_hash ?? ""}>
            <code>{r.dataset_hash?.slice(0, 12) ?? "—"}</code> · seed {r.seed}
          </dd>
        </div>
      </dl>
      {r.summary && <Balance summary={r.summary} />}
      {(r.steps.length > 0 || r.val_loss_before !== null) && <LossCurve round={r} />}
      {r.failure && (
        <p class="muted" data-testid="round-failure">
          Last run: {r.failure}
          {resumable ? ` — training resumes after epoch ${r.epochs_done} with the same settings.` : ""}
        </p>
      )}
      {r.studies.length > 0 && (
        <p data-testid="round-studies">
          Evaluated in: <strong>{r.studies.join(", ")}</strong> (see Studies to generate answers and follow the ratings)
        </p>
      )}
      {study && <p data-testid="round-study-opened">Opened study “{study}”. Generate its answers on the Studies screen.</p>}

      {p && (
        <div class="job" data-testid="round-job">
          <ProgressBar
            testid="round-progress"
            label={p.label}
            value={p.done}
            max={p.total}
            text={`${p.label}${p.total !== null ? ` — ${p.done} of ${p.total} steps` : ""}${p.message ? ` · ${p.message}` : ""}`}
          />
          {p.notes.length > 0 && <p class="muted job-note">{p.notes[p.notes.length - 1]}</p>}
        </div>
      )}
      <ErrorBox error={error ?? action.error} testid="round-error" onDismiss={() => (setError(null), action.setError(null))} />
      {trainable && (
        <div class="form-row">
          <Field label="Epochs">
            <input value={epochs} onInput={(e) => setEpochs((e.target as HTMLInputElement).value)} data-testid="round-epochs" inputMode="numeric" disabled={!!job} />
          </Field>
          <Field label="Learning rate">
            <input value={lr} onInput={(e) => setLr((e.target as HTMLInputElement).value)} data-testid="round-lr" inputMode="decimal" disabled={!!job} />
          </Field>
          <Field label="Context" hint="Tokens per window, a multiple of 256">
            <input value={context} onInput={(e) => setContext((e.target as HTMLInputElement).value)} data-testid="round-context" inputMode="numeric" disabled={!!job} />
          </Field>
        </div>
      )}
      <div class="toolbar">
        {job ? (
          <button type="button" data-testid="round-cancel" onClick={() => void cancel("Stopping after the current step…").catch((e) => setError(toAppError(e)))}>
            Cancel training
          </button>
        ) : (
          trainable && (
            <button type="button" class="primary" data-testid="round-train" onClick={() => void train()}>
              {resumable ? `Resume training (after epoch ${r.epochs_done})` : "Train on this machine"}
            </button>
          )
        )}
        {r.status === "trained" && (
          <button type="button" class="primary" data-testid="round-evaluate" disabled={action.busy !== null} onClick={() => void evaluate()}>
            {action.busy === "evaluate" ? "Opening study…" : "Open blinded evaluation study"}
          </button>
        )}
      </div>
    </article>
  );
}

/** Training and validation examples per category, as horizontal bars. */
function Balance(props: { summary: DatasetSummary }) {
  const rows = Object.entries(props.summary.by_category);
  const max = Math.max(1, ...rows.map(([, [t, v]]) => t + v));
  const w = 360;
  return (
    <figure class="balance" data-testid="round-balance">
      <figcaption class="muted">
        Examples per category (dark: training, light: validation); {props.summary.duplicates_dropped} near-duplicates dropped
      </figcaption>
      <svg width={w + 240} height={rows.length * 22 + 4} role="img" aria-label="Examples per category">
        {rows.map(([cat, [t, v]], i) => (
          <g key={cat} transform={`translate(0, ${i * 22})`}>
            <text x={0} y={15} class="chart-label">
              {cat}
            </text>
            <rect x={160} y={4} width={(t / max) * w} height={14} class="bar-train" />
            <rect x={160 + (t / max) * w} y={4} width={(v / max) * w} height={14} class="bar-val" />
            <text x={166 + ((t + v) / max) * w} y={15} class="chart-label">
              {t} + {v}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

/** Loss per step (line) and validation loss before training and after each epoch (points). */
function LossCurve(props: { round: RoundView }) {
  const r = props.round;
  const perEpoch = r.steps_per_epoch ?? Math.max(0, ...r.steps.filter((s) => s.epoch === 1).map((s) => s.step));
  const l = layoutCurve(r.steps, r.epochs, r.val_loss_before, perEpoch, r.params?.epochs ?? 0);
  const b = CURVE_BOX;
  return (
    <figure class="loss-curve" data-testid="round-curve">
      <figcaption class="muted">Training loss per step (line) and validation loss (dots)</figcaption>
      <svg viewBox={`0 0 ${b.width} ${b.height}`} width={b.width} height={b.height} role="img" aria-label="Loss curve">
        {l.yTicks.map((t) => (
          <g key={t.label}>
            <line x1={b.left} x2={b.width - b.right} y1={t.y} y2={t.y} class="grid" />
            <text x={b.left - 6} y={t.y + 4} text-anchor="end" class="chart-label">
              {t.label}
            </text>
          </g>
        ))}
        {l.epochMarks.map((m) => (
          <g key={m.label}>
            <line x1={m.x} x2={m.x} y1={b.top} y2={b.height - b.bottom} class="grid epoch" />
            <text x={m.x} y={b.height - 10} text-anchor="end" class="chart-label">
              {m.label}
            </text>
          </g>
        ))}
        <path d={l.stepPath} class="train-line" fill="none" data-testid="round-curve-steps" />
        {l.valPoints.map((p) => (
          <circle key={p.label} cx={p.x} cy={p.y} r={5} class="val-point" data-testid="round-curve-val">
            <title>{p.label}</title>
          </circle>
        ))}
      </svg>
    </figure>
  );
}
