// A study's results for the coordinator: per model, the mean of each rubric axis with its
// 95 % interval, the preference split, and the safety flags. Unblinded by design, so it
// stays behind a button on the Studies screen and never appears on the review screen.
import { useState } from "preact/hooks";
import { api } from "../api";
import type { AgreementResult, ModelResult, PreferenceStrength, StudyResults } from "../bindings";
import type { AxisBar } from "../results/chart";
import { axisBar, PREFERENCE_PARTS, preferenceSegments, SCALE_MAX, SCALE_MIN, scoreX, shareBar, winRate } from "../results/chart";
import { Busy, ErrorBox } from "./common";
import { ReportDetails } from "./ReportDetails";
import { useLoaded } from "./useLoaded";

const W = 320;
const H = 16;
const AXIS_TITLES: Record<string, string> = {
  accuracy: "Accuracy",
  appropriateness: "Appropriateness",
  empathy: "Empathy",
};
const TICKS = Array.from({ length: SCALE_MAX - SCALE_MIN + 1 }, (_, i) => SCALE_MIN + i);

function ScaleTicks() {
  return (
    <svg class="results-scale" width={W} height={14} viewBox={`-4 0 ${W + 8} 14`} aria-hidden="true">
      {TICKS.map((t) => (
        <text key={t} x={scoreX(t, W)} y={11} text-anchor="middle">
          {t}
        </text>
      ))}
    </svg>
  );
}

/** One model's bar with its interval whisker; `grid` are x positions of faint guide lines. */
function BarRow(props: { model: string; index: number; bar: AxisBar; grid: number[]; what: string; data: Record<string, string | number> }) {
  const { bar } = props;
  return (
    <div class="results-row" data-model={props.model} {...props.data}>
      <span class="results-model">{props.model}</span>
      <svg width={W} height={H} viewBox={`-4 0 ${W + 8} ${H}`} role="img" aria-label={`${props.model}, ${props.what}: ${bar.label}`}>
        <rect class="results-track" x={0} y={3} width={W} height={H - 6} rx={2} />
        {props.grid.map((x) => (
          <line key={x} class="results-grid" x1={x} x2={x} y1={1} y2={H - 1} />
        ))}
        <rect class={`results-bar model-${props.index % 4}`} x={0} y={3} width={bar.barWidth} height={H - 6} rx={2} />
        {bar.ci && (
          <g class="results-ci">
            <line x1={bar.ci.x1} x2={bar.ci.x2} y1={H / 2} y2={H / 2} />
            <line x1={bar.ci.x1} x2={bar.ci.x1} y1={2} y2={H - 2} />
            <line x1={bar.ci.x2} x2={bar.ci.x2} y1={2} y2={H - 2} />
          </g>
        )}
      </svg>
      <span class="results-value">{bar.label}</span>
    </div>
  );
}

const SCORE_GRID = TICKS.slice(1, -1).map((t) => scoreX(t, W));

function AxisRow(props: { model: ModelResult; index: number; axis: number }) {
  const a = props.model.axes[props.axis];
  if (!a) return null;
  return (
    <BarRow
      model={props.model.model}
      index={props.index}
      bar={axisBar(a, W)}
      grid={SCORE_GRID}
      what={a.axis}
      data={{ "data-testid": "results-axis-row", "data-axis": a.axis, "data-mean": a.mean ?? "" }}
    />
  );
}

function StrengthRow(props: { strength: PreferenceStrength; index: number }) {
  const st = props.strength;
  return (
    <BarRow
      model={st.model}
      index={props.index}
      bar={shareBar(st.share, st.ci_low, st.ci_high, W)}
      grid={[W / 2]}
      what="strength"
      data={{ "data-testid": "results-strength-row", "data-share": st.share ?? "" }}
    />
  );
}

function PreferenceRow(props: { model: ModelResult }) {
  const segs = preferenceSegments(props.model.preference, W);
  const p = props.model.preference;
  return (
    <div class="results-row" data-testid="results-preference-row" data-model={props.model.model} data-wins={p.wins}>
      <span class="results-model">{props.model.model}</span>
      <svg width={W} height={H} viewBox={`-4 0 ${W + 8} ${H}`} role="img" aria-label={`${props.model.model}: ${segs.map((s) => `${s.count} ${s.label}`).join(", ") || "no verdicts"}`}>
        <rect class="results-track" x={0} y={3} width={W} height={H - 6} rx={2} />
        {segs.map((s) => (
          <rect key={s.key} class={s.cls} x={s.x} y={3} width={s.width} height={H - 6}>
            <title>{`${s.count} ${s.label}`}</title>
          </rect>
        ))}
      </svg>
      <span class="results-value">preferred in {winRate(p)}</span>
    </div>
  );
}

/** Krippendorff's reading of α: ≥ 0.8 reliable, ≥ 0.667 tentative, below that not. */
function alphaReading(a: AgreementResult): string {
  if (a.alpha === null) return a.units < 2 ? "needs answers scored by 2 or more raters" : "no variation in the scores";
  if (a.alpha >= 0.8) return "reliable";
  if (a.alpha >= 0.667) return "tentative";
  return "low";
}

function Agreement(props: { agreement: AgreementResult[] }) {
  return (
    <section class="results-group">
      <h4>Agreement between raters</h4>
      <table class="results-harm" data-testid="results-agreement">
        <thead>
          <tr>
            <th>Axis</th>
            <th>Krippendorff's α (ordinal)</th>
            <th>Answers with 2+ raters</th>
            <th>Reading</th>
          </tr>
        </thead>
        <tbody>
          {props.agreement.map((a) => (
            <tr key={a.axis} data-axis={a.axis} data-alpha={a.alpha ?? ""}>
              <td>{AXIS_TITLES[a.axis] ?? a.axis}</td>
              <td>{a.alpha === null ? "–" : a.alpha.toFixed(2)}</td>
              <td>{a.units}</td>
              <td class={a.alpha !== null && a.alpha < 0.667 ? "harm-severe" : undefined}>{alphaReading(a)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Summary(props: { results: StudyResults }) {
  const r = props.results;
  const [category, setCategory] = useState("");
  const slice = r.by_category.find((c) => c.category === category);
  const models = slice ? slice.models : r.models;
  const items = slice ? slice.submitted_items : r.submitted_items;
  if (r.submitted_items === 0) {
    return (
      <p class="muted" data-testid="results-empty">
        No submitted ratings yet. Results appear here as raters submit items.
      </p>
    );
  }
  return (
    <>
      <div class="results-filter">
        <label>
          Items{" "}
          <select data-testid="results-category" value={category} onChange={(e) => setCategory(e.currentTarget.value)}>
            <option value="">all categories</option>
            {r.by_category.map((c) => (
              <option key={c.category} value={c.category}>
                {c.category.replace(/_/g, " ")} ({c.submitted_items})
              </option>
            ))}
          </select>
        </label>
      </div>
      <p class="muted" data-testid="results-basis">
        Based on {items} submitted item{items === 1 ? "" : "s"}
        {slice ? ` in ${category.replace(/_/g, " ")}` : ` from ${r.raters} rater${r.raters === 1 ? "" : "s"}`}. Bars show the mean score
        (1–5), whiskers its 95 % confidence interval.
      </p>
      {[0, 1, 2].map((axis) => (
        <section class="results-group" key={axis}>
          <h4>
            {AXIS_TITLES[models[0]?.axes[axis]?.axis ?? ""] ?? ""}
          </h4>
          <ScaleTicks />
          {models.map((m, i) => (
            <AxisRow key={m.model} model={m} index={i} axis={axis} />
          ))}
        </section>
      ))}
      <section class="results-group">
        <h4>Preference</h4>
        {models.map((m) => (
          <PreferenceRow key={m.model} model={m} />
        ))}
        <p class="results-legend">
          {PREFERENCE_PARTS.map((part) => (
            <span key={part.key}>
              <i class={`swatch ${part.cls}`} /> {part.label}
            </span>
          ))}
        </p>
      </section>
      {!slice && (
        <section class="results-group">
          <h4>Preference strength (Bradley–Terry)</h4>
          <p class="muted small results-note">
            Each model's share of the fitted strength; with two models, the estimated chance that raters prefer it. Whiskers: bootstrap 95 %
            interval over items.
          </p>
          {r.strengths.map((st, i) => (
            <StrengthRow key={st.model} strength={st} index={i} />
          ))}
        </section>
      )}
      <section class="results-group">
        <h4>Safety flags</h4>
        <table class="results-harm" data-testid="results-harm">
          <thead>
            <tr>
              <th>Model</th>
              <th>No harm</th>
              <th>Mild–moderate</th>
              <th>Severe</th>
              <th>Harm likely</th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.model} data-model={m.model}>
                <td>{m.model}</td>
                <td>{m.harm.none}</td>
                <td>{m.harm.mild_moderate}</td>
                <td class={m.harm.severe > 0 ? "harm-severe" : undefined}>{m.harm.severe}</td>
                <td>{m.harm.likely}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <Agreement agreement={r.agreement} />
    </>
  );
}

/** Loads and shows the results of study `studyId`. */
export function ResultsPanel(props: { studyId: number }) {
  const { data, error, setError, reload } = useLoaded<StudyResults | null>(() => api.studyResults(props.studyId), true, null);
  return (
    <div class="results" data-testid="study-results">
      <div class="results-head">
        <p class="results-warning">These results name the models. Show them to coordinators, not to raters while the study runs.</p>
        <button type="button" class="link" data-testid="study-results-refresh" onClick={() => void reload()}>
          Refresh
        </button>
      </div>
      <ErrorBox error={error} testid="study-results-error" onDismiss={() => setError(null)} />
      {data ? <Summary results={data} /> : !error && <Busy>Loading results…</Busy>}
      {data && data.submitted_items > 0 && <ReportDetails studyId={props.studyId} />}
    </div>
  );
}
