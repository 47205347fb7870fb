// The full report in the results panel: each model against a chosen baseline (a forest chart
// of mean differences with 95 % intervals and the Wilcoxon p), the preference matrix, and
// agreement (α ordinal and interval, ICC, κ) with a plain-language reading, for all items, one
// category, one rater specialty or one retraining round; the per-round trend; and each chart
// saved as SVG or PNG (drawn by the core, as in the HTML report). The same figures as
// `llm4sweat report`.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, toAppError, type UiError } from "../api";
import type { ChartFormat, ChartsWritten, Report, RoundBreakdown, Section } from "../bindings";
import { TREND_AXES, alphaWords, finite, forestRows, forestSpan, matrixCell, reasonOf, trendLayout, valueOf } from "../results/report";
import { Busy, ErrorBox } from "./common";
import { useLoaded } from "./useLoaded";

const FW = 320;
const ROW = 18;

function Forest(props: { section: Section }) {
  const rows = forestRows(props.section, FW);
  const span = forestSpan(props.section);
  return (
    <div class="report-forest" data-testid="report-forest">
      {rows.map((r) => (
        <div class="results-row" key={r.key} data-testid="report-paired-row" data-key={r.key} data-clear={r.clear ? "yes" : "no"}>
          <span class="results-model">{r.label}</span>
          <svg width={FW} height={ROW} viewBox={`-4 0 ${FW + 8} ${ROW}`} role="img" aria-label={`${r.label}: ${r.text}`}>
            <line class="report-zero" x1={FW / 2} x2={FW / 2} y1={0} y2={ROW} />
            {r.ci && <line class="report-ci" x1={r.ci.x1} x2={r.ci.x2} y1={ROW / 2} y2={ROW / 2} />}
            {r.x !== null && <rect class={r.clear ? "report-dot clear" : "report-dot"} x={r.x - 4} y={ROW / 2 - 4} width={8} height={8} />}
          </svg>
          <span class="results-value">{r.text}</span>
        </div>
      ))}
      <p class="muted small results-note">
        Mean difference (model − baseline) on the items both were scored on, per item the mean over raters; the chart spans ±{span.toFixed(1)}{" "}
        points around 0. Filled squares: interval off zero and Wilcoxon p &lt; 0.05.
      </p>
    </div>
  );
}

function Matrix(props: { models: string[]; section: Section }) {
  const pairs = props.section.preferences.pairs;
  if (pairs.length === 0) return <p class="muted">No side-by-side preferences between two rated answers yet.</p>;
  return (
    <table class="results-harm report-matrix" data-testid="report-matrix">
      <thead>
        <tr>
          <th>Row beat column</th>
          {props.models.map((m) => (
            <th key={m}>{m}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.models.map((row) => (
          <tr key={row} data-model={row}>
            <th>{row}</th>
            {props.models.map((col) => {
              if (row === col) return <td key={col} class="muted">—</td>;
              const c = matrixCell(pairs, row, col);
              return c.share === null ? (
                <td key={col} class="muted">
                  did not meet
                </td>
              ) : (
                <td
                  key={col}
                  data-col={col}
                  data-wins={c.wins}
                  style={{ background: `rgba(31, 95, 139, ${(0.08 + 0.5 * c.share).toFixed(2)})` }}
                  title={`${c.wins} wins, ${c.ties} ties, ${c.losses} losses`}
                >
                  {c.wins} / {c.ties} / {c.losses}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Two decimals, or a dash for a missing figure. */
function fixed(v: number | null | undefined): string {
  const f = finite(v);
  return f === null ? "–" : f.toFixed(2);
}

function AgreementTable(props: { section: Section }) {
  return (
    <table class="results-harm" data-testid="report-agreement">
      <thead>
        <tr>
          <th>Axis</th>
          <th>α ordinal</th>
          <th>α interval</th>
          <th>ICC(2,1)</th>
          <th>ICC(2,k)</th>
          <th>κ (pairs of raters)</th>
          <th>Reading</th>
        </tr>
      </thead>
      <tbody>
        {props.section.agreement.map((a) => {
          const ord = valueOf(a.alpha_ordinal);
          const int = valueOf(a.alpha_interval);
          const icc = valueOf(a.icc);
          const kappas = a.kappa.map((k) => finite(valueOf(k.kappa))).filter((k): k is number => k !== null);
          return (
            <tr key={a.axis} data-axis={a.axis} data-alpha={ord ?? ""}>
              <td>{a.axis}</td>
              <td title={reasonOf(a.alpha_ordinal) ?? undefined}>{fixed(ord)}</td>
              <td title={reasonOf(a.alpha_interval) ?? undefined}>{fixed(int)}</td>
              <td title={reasonOf(a.icc) ?? undefined}>{fixed(icc?.icc_single)}</td>
              <td title={reasonOf(a.icc) ?? undefined}>{fixed(icc?.icc_average)}</td>
              <td>
                {kappas.length === 0
                  ? "–"
                  : kappas.length === 1
                    ? kappas[0].toFixed(2)
                    : `${Math.min(...kappas).toFixed(2)} to ${Math.max(...kappas).toFixed(2)}`}
              </td>
              <td>{alphaWords(ord)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

const TREND_COLORS: Record<string, string> = { accuracy: "#1f6feb", appropriateness: "#d9480f", empathy: "#2f9e44" };

/** Each evaluated round's model against its base model, mean and 95 % t-interval per axis. */
function RoundTrend(props: { rounds: RoundBreakdown[] }) {
  const l = trendLayout(props.rounds);
  return (
    <figure class="report-trend" data-testid="report-round-trend">
      <svg width={l.width} height={l.height} viewBox={`0 0 ${l.width} ${l.height}`} role="img" aria-label="Mean score per round and axis, each round's model against its base model">
        {l.ticks.map((t) => (
          <g key={t.score}>
            <line class="results-grid" x1={30} x2={l.width - 10} y1={t.y} y2={t.y} />
            <text x={24} y={t.y + 4} text-anchor="end" class="chart-label">
              {t.score}
            </text>
          </g>
        ))}
        {l.rounds.map((r) => (
          <text key={r.round} x={r.x} y={l.height - 6} text-anchor="middle" class="chart-label">
            round {r.round}
          </text>
        ))}
        {l.marks.map((m) => (
          <g key={m.key} data-testid="report-trend-mark" data-round={m.round} data-axis={m.axis} data-who={m.who} data-mean={m.mean.toFixed(3)}>
            {m.ci && <line x1={m.cx} x2={m.cx} y1={m.ci.y1} y2={m.ci.y2} stroke={TREND_COLORS[m.axis]} stroke-width={2} />}
            <circle cx={m.cx} cy={m.cy} r={m.who === "model" ? 4.5 : 4} fill={m.who === "model" ? TREND_COLORS[m.axis] : "#ffffff"} stroke={TREND_COLORS[m.axis]} stroke-width={1.5}>
              <title>
                round {m.round}, {m.who === "model" ? "the round's model" : "its base model"}, {m.axis}: {m.mean.toFixed(2)}
              </title>
            </circle>
          </g>
        ))}
      </svg>
      <figcaption class="muted small">
        {TREND_AXES.map((a) => (
          <span key={a} class="report-trend-key">
            <span style={{ color: TREND_COLORS[a] }}>●</span> {a}{" "}
          </span>
        ))}
        · filled: the round's model with its 95 % t-interval; hollow: its base model in the same study.
      </figcaption>
    </figure>
  );
}

/** Saves each chart of the shown part of the report into a folder, as SVG or PNG. */
function SaveCharts(props: { studyId: number; baseline: string; group: string }) {
  const [dir, setDir] = useState("~/llm4sweat-charts");
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<ChartsWritten | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const save = async (format: ChartFormat) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      setDone(await api.exportReportCharts(props.studyId, props.baseline || null, props.group || "all", format, dir));
    } catch (e) {
      setError(toAppError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="report-save-charts">
      <label>
        Save the charts of this view to{" "}
        <input data-testid="report-charts-dir" value={dir} onInput={(e) => setDir(e.currentTarget.value)} size={28} />
      </label>{" "}
      <button type="button" data-testid="report-charts-svg" disabled={busy} onClick={() => void save("svg")}>
        as SVG
      </button>{" "}
      <button type="button" data-testid="report-charts-png" disabled={busy} onClick={() => void save("png")}>
        as PNG
      </button>
      <ErrorBox error={error} testid="report-charts-error" onDismiss={() => setError(null)} />
      {done && (
        <p class="muted small" data-testid="report-charts-result" data-files={done.files.length}>
          Wrote {done.files.length} file{done.files.length === 1 ? "" : "s"}
          {done.files.length > 0 && <> ({done.files.map((f) => f.split("/").pop()).join(", ")})</>}
          {done.skipped.length > 0 && <> · not drawn: {done.skipped.join("; ")}</>}
        </p>
      )}
    </div>
  );
}

function Details(props: { studyId: number; report: Report; baseline: string; onBaseline: (b: string) => void }) {
  const r = props.report;
  const rounds = r.by_round ?? [];
  const [group, setGroup] = useState("");
  const groups = [
    ...r.by_category.map((b) => ({ key: `category:${b.group}`, label: `category: ${b.group.replace(/_/g, " ")}`, section: b.section })),
    ...r.by_specialty.map((b) => ({ key: `specialty:${b.group}`, label: `raters in ${b.group}`, section: b.section })),
    ...rounds.map((b) => ({
      key: `round:${b.round}`,
      label: `round ${b.round}: ${valueOf(b.model) ?? "no model"} vs ${valueOf(b.base_model) ?? "no base"} (study ${b.study})`,
      section: b.section,
    })),
  ];
  const section = groups.find((g) => g.key === group)?.section ?? r.overall;
  const models = group.startsWith("round:") ? section.models.map((m) => m.model) : r.study.models;
  const why = reasonOf(section.paired);
  return (
    <section class="results-group report-details" data-testid="report-details">
      <h4>Against a baseline, preferences and agreement</h4>
      <div class="results-filter">
        <label>
          Baseline{" "}
          <select data-testid="report-baseline" value={props.baseline} onChange={(e) => props.onBaseline(e.currentTarget.value)}>
            <option value="">the study's baseline model</option>
            {r.study.models.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>{" "}
        <label>
          Ratings{" "}
          <select data-testid="report-group" value={group} onChange={(e) => setGroup(e.currentTarget.value)}>
            <option value="">all</option>
            {groups.map((g) => (
              <option key={g.key} value={g.key}>
                {g.label} ({g.section.ratings})
              </option>
            ))}
          </select>
        </label>
      </div>
      {why ? (
        <p class="muted" data-testid="report-paired-why">
          No paired comparison: {why}.
        </p>
      ) : (
        <Forest section={section} />
      )}
      <h4>Preference matrix</h4>
      <Matrix models={models} section={section} />
      <p class="muted small results-note">Each cell: wins / ties / losses of the row model against the column model.</p>
      <h4>Agreement</h4>
      <AgreementTable section={section} />
      {rounds.length > 0 && (
        <>
          <h4>Across rounds</h4>
          <RoundTrend rounds={rounds} />
        </>
      )}
      <SaveCharts studyId={props.studyId} baseline={props.baseline} group={group} />
    </section>
  );
}

/** Loads the full report of study `studyId` and shows its paired tests, matrix and agreement. */
export function ReportDetails(props: { studyId: number }) {
  const [baseline, setBaseline] = useState("");
  const { data, error, setError, reload } = useLoaded<Report | null>(() => api.studyReport(props.studyId, baseline || null), true, null);
  // The first load happens on mount; later ones when the baseline changes.
  const mounted = useRef(false);
  useEffect(() => {
    if (mounted.current) void reload();
    mounted.current = true;
  }, [baseline]);
  return (
    <>
      <ErrorBox error={error} testid="report-error" onDismiss={() => setError(null)} />
      {data ? <Details studyId={props.studyId} report={data} baseline={baseline} onBaseline={setBaseline} /> : !error && <Busy>Computing the report…</Busy>}
    </>
  );
}
