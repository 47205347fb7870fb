// Times review commands as the UI calls them: from JavaScript in the real app's webview,
// through Tauri's IPC to Rust (SQLite work on a blocking thread) and back, on the
// workspace that src-tauri/benches/review.rs leaves behind (a study with 5 000 answers).
// Run by scripts/bench-desktop.sh under Xvfb; prints Markdown table rows. Not a test file.
import { AppDriver } from "./lib/harness.mjs";

const ROUNDS = Number(process.env.BENCH_IPC_ROUNDS ?? 50);

// Runs inside the webview. `window.__TAURI_INTERNALS__.invoke` is what the generated
// bindings call, so this is the same path as a click in the review form, minus rendering.
const PAGE_SCRIPT = `
const [rounds, done] = [arguments[0], arguments[arguments.length - 1]];
const invoke = window.__TAURI_INTERNALS__.invoke;
const now = () => performance.now();
(async () => {
  const rater = (await invoke("list_raters")).find((r) => r.name === "Bench");
  if (!rater) throw new Error("no rater named Bench: run the review bench with BENCH_KEEP_DB first");
  const times = { floor: [], open: [], autosave: [], submit: [] };
  for (let i = 0; i < rounds; i++) {
    const t = now();
    await invoke("workspace_status");
    times.floor.push(now() - t);
  }
  for (let i = 0; i < 7; i++) {
    const t = now();
    await invoke("list_studies");
    const queue = await invoke("rater_queue", { raterId: rater.id });
    const first = queue.find((e) => e.status !== "submitted");
    await invoke("open_item", { raterId: rater.id, assignmentId: first.assignment_id });
    times.open.push(now() - t);
  }
  const queue = await invoke("rater_queue", { raterId: rater.id });
  const pending = queue.filter((e) => e.status !== "submitted").slice(0, rounds);
  if (pending.length < rounds) throw new Error("only " + pending.length + " items left to rate");
  for (const [i, entry] of pending.entries()) {
    const item = await invoke("open_item", { raterId: rater.id, assignmentId: entry.assignment_id });
    const score = (i % 5) + 1;
    const rating = { accuracy: score, appropriateness: score, empathy: score, harm: "none",
                     harm_likelihood: null, comment: null, corrected_answer: null };
    for (const [j, answer] of item.answers.entries()) {
      const t = now();
      await invoke("save_rating", { raterId: rater.id, assignmentId: entry.assignment_id, label: answer.label, rating });
      if (j === 0) times.autosave.push(now() - t);
    }
    await invoke("save_preference", { raterId: rater.id, assignmentId: entry.assignment_id, preference: "tie" });
    const t = now();
    await invoke("submit_item", { raterId: rater.id, assignmentId: entry.assignment_id });
    times.submit.push(now() - t);
  }
  done({ ok: true, times });
})().catch((e) => done({ ok: false, error: String(e && e.message ? e.message : JSON.stringify(e)) }));
`;

const quantile = (xs, q) => {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(q * v.length))];
};
const fmt = (ms) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
// WebKit rounds performance.now() to whole milliseconds, so a single fast call reads 0 or 1:
// the mean over all calls (their sum / n) is the precise figure, the p95 a coarse tail.
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

const driver = await AppDriver.start("bench-ipc");
let code = 0;
try {
  const s = await driver.launch();
  const res = await s.cmd("POST", "/execute/async", { script: PAGE_SCRIPT, args: [ROUNDS] }, 300_000);
  if (!res?.ok) throw new Error(`the in-page benchmark failed: ${res?.error ?? JSON.stringify(res)}`);
  const rows = [
    ["IPC floor: `workspace_status` round trip through the webview", res.times.floor, null],
    ["open a study with 5 000 answers through IPC (list studies + queue + first item)", res.times.open, "< 300 ms"],
    ["rating autosave through IPC (one answer's scores)", res.times.autosave, "< 50 ms"],
    ["rating submit round trip through IPC", res.times.submit, "< 50 ms"],
  ];
  for (const [what, xs, target] of rows) {
    console.log(`| ${what} | ${fmt(mean(xs))} ms (mean of ${xs.length}; p95 ${fmt(quantile(xs, 0.95))} ms) | ${target ?? "–"} |`);
  }
} catch (e) {
  console.error(`[bench-ipc] ${e.stack ?? e}`);
  await driver.capture("bench-ipc failure");
  code = 1;
} finally {
  await driver.stop();
}
process.exit(code);
