// End-to-end: the real llm4sweat-desktop binary in a real window (Xvfb), driven over
// WebDriver through tauri-driver. A rater rates one item of the demo study with the
// keyboard only, the app is restarted on the same workspace and shows the item submitted
// and read-only with the same scores, and the study's CSV export holds those scores.
// Run it with scripts/e2e.sh (it builds the app and prepares the demo workspace).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  ariaChecked,
  blindingLeaks,
  buttonFor,
  buttonsOf,
  createRater,
  goTo,
  HARM_VALUES,
  LIKELIHOOD_VALUES,
  readQueue,
  SCORE_PLANS,
  scoreWithKeyboard,
  waitForFocus,
  waitForItem,
  waitForQueueStatus,
} from "./lib/app.mjs";
import { parseCsvObjects } from "./lib/csv.mjs";
import { AppDriver, step } from "./lib/harness.mjs";
import { Key, tid, waitFor } from "./lib/webdriver.mjs";

const SCORE_AXES = ["accuracy", "appropriateness", "empathy"];
const suffix = Date.now().toString(36);
// A comma and quotes in the name make the CSV check exercise quoted fields.
const RATER = `E2E Keyboard, Rater "${suffix}"`;
const SPECIALTY = "psychology";
const DEMO_STUDY = "Demo study";

/** @type {AppDriver} */
let driver;
// Filled by the steps, read by the later ones.
const rated = { assignmentId: null, labels: null, rows: null, preferenceLabel: null };

before(async () => {
  driver = await AppDriver.start("review");
});

after(async () => {
  await driver?.stop();
});

/** What the rater entered for answer `labels[i]`. */
const planFor = (i) => SCORE_PLANS[i];

test("review flow: keyboard rating, restart, CSV export", async (t) => {
  let failed = false;
  const runStep = async (name, fn) => {
    if (failed) {
      await t.test(name, (st) => st.skip("an earlier step failed"));
      return;
    }
    await t.test(name, async () => {
      try {
        await step(driver, name, fn);
      } catch (e) {
        failed = true;
        throw e;
      }
    });
  };

  await runStep("(a) create a rater and rate the first item with the keyboard only", async () => {
    const s = await driver.launch();
    await createRater(s, RATER, SPECIALTY);

    const queue = await readQueue(s);
    assert.ok(queue.length > 0, "the new rater has items of the demo study in the queue");
    assert.ok(
      queue.every((q) => q.status === "pending"),
      `a new rater's items are all pending (got ${queue.map((q) => q.status).join(", ")})`,
    );
    const first = queue[0];
    assert.ok(first.ready, "the first queue item is ready (the demo generated every answer)");
    const progress = await (await s.find(tid("queue-progress"))).text();
    assert.match(progress, new RegExp(`\\b0 of ${queue.length} submitted`), "queue-progress starts at 0 submitted");

    // Keyboard: focus the first entry and press Enter.
    await s.execute("arguments[0].focus();", first.el);
    await waitForFocus(s, "queue-item", "the first queue entry is focused");
    await s.pressKeys(Key.Enter);
    const { labels, rows } = await waitForItem(s, first.id);
    rated.assignmentId = first.id;
    rated.labels = labels;
    rated.rows = rows;
    assert.deepEqual(
      rows,
      ["accuracy", "appropriateness", "empathy", "harm", "harm_likelihood"],
      "every answer has the five rubric rows in order",
    );
    assert.ok(labels.length <= SCORE_PLANS.length, `at most ${SCORE_PLANS.length} answers (got ${labels.length})`);
    assert.equal(
      await (await s.find(tid("save-status"))).attribute("data-state"),
      "idle",
      "save-status is idle before any change",
    );

    const leaks = await blindingLeaks(s);
    assert.deepEqual(leaks, [], `the review screen does not reveal the models (found ${leaks.join(", ")})`);

    await scoreWithKeyboard(s, labels, rows, labels.map((_, i) => planFor(i)));

    // Preference with its letter key: the first answer is better.
    rated.preferenceLabel = labels[0];
    await s.pressKeys(labels[0].toLowerCase());
    await waitFor(async () => (await ariaChecked(s, [`pref-${labels[0]}`]))[0] === "true", {
      message: `key "${labels[0].toLowerCase()}" to choose pref-${labels[0]}`,
    });

    await waitFor(async () => (await (await s.find(tid("missing-count"))).text()).includes("Complete"), {
      message: 'missing-count to read "Complete — ready to submit"',
    });
    const saved = await waitFor(
      async () => {
        const el = await s.find(tid("save-status"));
        return (await el.attribute("data-state")) === "saved" ? el : null;
      },
      { message: 'save-status data-state="saved" after the autosave' },
    );
    assert.match(await saved.text(), /Saved/, "save-status reads Saved");
    assert.deepEqual(await blindingLeaks(s), [], "still blinded after scoring");

    // Enter on a rubric row submits.
    const focused = await s.execute("return document.activeElement.getAttribute('data-testid');");
    assert.match(String(focused), /^row-/, `a rubric row has the focus before Enter (got ${focused})`);
    await s.pressKeys(Key.Enter);
    // The app moves on to the next item (or says everything is done).
    await waitFor(
      async () => {
        const items = await s.findAll(tid("review-item"));
        if (items.length === 0) return (await s.findAll(tid("queue-done"))).length > 0;
        return (await items[0].attribute("data-assignment-id")) !== first.id;
      },
      { message: "the submitted item to be replaced by the next one (or queue-done)" },
    );
    const backs = await s.findAll(tid("back-to-queue"));
    if (backs.length > 0) await backs[0].click();
    await waitForQueueStatus(s, first.id, "submitted");
    await waitFor(async () => (await (await s.find(tid("queue-progress"))).text()).includes(`1 of ${queue.length} submitted`), {
      message: `queue-progress to read "1 of ${queue.length} submitted"`,
    });
  });

  await runStep("(b) after a restart the item is still submitted and read-only with the same scores", async () => {
    await driver.close();
    const s = await driver.launch();
    // The app remembers the rater; either way, pick the profile from the list.
    const where = await waitFor(
      async () => {
        if ((await s.findAll(tid("rater-option"))).length > 0) return "picker";
        if ((await s.findAll(tid("rater-current"))).length > 0) return "current";
        return null;
      },
      { message: "the rater picker or rater-current after the restart" },
    );
    t.diagnostic(
      where === "current"
        ? "after the restart the app remembered the rater (localStorage); switched and picked it again"
        : "after the restart the app showed the rater picker",
    );
    if (where === "current") {
      const text = await (await s.find(tid("rater-current"))).text();
      assert.ok(text.includes(RATER), `the remembered rater is ours (got ${JSON.stringify(text)})`);
      await (await s.find(tid("rater-switch"))).click();
    }
    await s.waitFor(tid("rater-option"), { message: "rater-option buttons in the picker" });
    let ours = null;
    for (const opt of await s.findAll(tid("rater-option"))) {
      if ((await opt.text()).includes(RATER)) ours = opt;
    }
    assert.ok(ours, `a rater-option for ${RATER} exists after the restart`);
    await ours.click();
    const current = await s.waitFor(tid("rater-current"), { message: "rater-current after choosing the profile" });
    assert.ok((await current.text()).includes(RATER), "reviewing as the same rater");

    const entry = await waitForQueueStatus(s, rated.assignmentId, "submitted");
    await entry.click();
    const { labels } = await waitForItem(s, rated.assignmentId);
    assert.deepEqual(labels, rated.labels, "the blinded answers keep their labels and order");
    await s.waitFor(tid("readonly-banner"), { message: "readonly-banner on the submitted item" });
    assert.equal(await (await s.find(tid("submit"))).enabled(), false, "submit is disabled on a submitted item");

    const expectChecked = async () => {
      for (let i = 0; i < labels.length; i++) {
        const plan = planFor(i);
        for (const row of rated.rows) {
          const ids = buttonsOf(labels[i], row);
          const want = ids.map((id) => (plan[row] != null && id === buttonFor(labels[i], row, plan[row]) ? "true" : "false"));
          assert.deepEqual(await ariaChecked(s, ids), want, `aria-checked of answer ${labels[i]} ${row} matches what was entered (${plan[row] ?? "none"})`);
        }
      }
      const prefIds = [...labels.map((l) => `pref-${l}`), "pref-tie", "pref-both_bad"];
      const want = prefIds.map((id) => (id === `pref-${rated.preferenceLabel}` ? "true" : "false"));
      assert.deepEqual(await ariaChecked(s, prefIds), want, `the preference is still answer ${rated.preferenceLabel}`);
    };
    await expectChecked();

    // Read-only: digits on the focused row change nothing and nothing is saved.
    await waitForFocus(s, `row-${labels[0]}-${rated.rows[0]}`, "the first row is focused in the read-only item");
    const other = planFor(0).accuracy === 1 ? "2" : "1";
    await s.pressKeys(other, "t");
    await expectChecked();
    assert.equal(
      await (await s.find(tid("save-status"))).attribute("data-state"),
      "idle",
      "a read-only item never saves",
    );
    assert.deepEqual(await blindingLeaks(s), [], "the read-only item is blinded too");
  });

  await runStep("(c) the study's CSV export holds the rater's scores", async () => {
    const s = driver.session;
    await goTo(s, "studies");
    const study = await waitFor(
      async () => {
        for (const row of await s.findAll(tid("study-row"))) {
          if ((await row.attribute("data-study-name")) === DEMO_STUDY) return row;
        }
        return null;
      },
      { message: `the study-row of "${DEMO_STUDY}"` },
    );
    let progressOk = false;
    for (const p of await study.findAll(tid("study-rater-progress"))) {
      if ((await p.attribute("data-rater")) === RATER) {
        const text = await p.text();
        assert.match(text, /\b1 \/ \d+/, `the study shows 1 submitted for the rater (got ${JSON.stringify(text)})`);
        progressOk = true;
      }
    }
    assert.ok(progressOk, "the study lists the rater's progress");

    const csvPath = join(driver.dir, "export, ratings.csv");
    const input = await study.find(tid("study-export-path"));
    await input.clear();
    await input.sendKeys(csvPath);
    assert.equal(await input.property("value"), csvPath, "study-export-path holds the temp file path");
    await (await study.find(tid("study-export"))).click();
    const result = await waitFor(
      async () => {
        const errs = await study.findAll(tid("study-error"));
        if (errs.length > 0) throw new Error(`study-error: ${await errs[0].text()}`);
        const r = await study.findAll(tid("study-export-result"));
        return r.length > 0 ? r[0].text() : null;
      },
      { message: "study-export-result" },
    );
    assert.ok(result.includes(csvPath), `the export result names the file (got ${JSON.stringify(result)})`);
    assert.match(result, /Wrote \d+ rows?/, "the export result says how many rows were written");

    assert.ok(existsSync(csvPath), `the CSV file exists at ${csvPath}`);
    const { header, rows } = parseCsvObjects(readFileSync(csvPath, "utf8"));
    for (const col of ["rater", "specialty", "item", "model", ...SCORE_AXES, "harm", "harm_likelihood", "preferred", "status"]) {
      assert.ok(header.includes(col), `the CSV header has a ${col} column (header: ${header.join(",")})`);
    }
    const mine = rows.filter((r) => r.rater === RATER);
    assert.equal(mine.length, rated.labels.length, `one CSV row per rated answer for ${RATER}`);
    assert.equal(new Set(mine.map((r) => r.item)).size, 1, "all of the rater's rows are for the same item");
    assert.equal(new Set(mine.map((r) => r.model)).size, mine.length, "each row is a different (unblinded) model");
    for (const r of mine) {
      assert.equal(r.specialty, SPECIALTY, "the CSV row carries the rater's specialty");
      assert.equal(r.status, "submitted", "the CSV row is submitted");
    }

    const key = (o) => JSON.stringify([o.accuracy, o.appropriateness, o.empathy, o.harm, o.harm_likelihood]);
    const expected = rated.labels.map((_, i) => {
      const p = planFor(i);
      return {
        accuracy: String(p.accuracy),
        appropriateness: String(p.appropriateness),
        empathy: String(p.empathy),
        harm: p.harm == null ? "" : HARM_VALUES[p.harm - 1],
        harm_likelihood: p.harm_likelihood == null ? "" : LIKELIHOOD_VALUES[p.harm_likelihood - 1],
        preferred: i === rated.labels.indexOf(rated.preferenceLabel) ? "true" : "false",
      };
    });
    assert.deepEqual(
      mine.map(key).sort(),
      expected.map(key).sort(),
      "the CSV holds exactly the scores, harm and likelihood given with the keyboard",
    );
    for (const e of expected) {
      const row = mine.find((r) => key(r) === key(e));
      assert.equal(row.preferred, e.preferred, `preferred is ${e.preferred} for the answer scored ${key(e)}`);
    }

    // The full report, written from the same card, is one self-contained HTML file with the
    // rater's scores, charts and the methods, and no script or external resource.
    const reportPath = join(driver.dir, "report, study.html");
    const reportInput = await study.find(tid("study-report-path"));
    await reportInput.clear();
    await reportInput.sendKeys(reportPath);
    await (await study.find(tid("study-report"))).click();
    const reported = await waitFor(
      async () => {
        const errs = await study.findAll(tid("study-error"));
        if (errs.length > 0) throw new Error(`study-error: ${await errs[0].text()}`);
        const r = await study.findAll(tid("study-report-result"));
        return r.length > 0 ? r[0].text() : null;
      },
      { message: "study-report-result" },
    );
    assert.match(reported, /Wrote the report \(\d+ ratings?\)/, `the report result says what it covers (got ${JSON.stringify(reported)})`);
    const html = readFileSync(reportPath, "utf8");
    assert.ok(html.startsWith("<!DOCTYPE html>") && html.includes("<svg"), "the report is HTML with inline charts");
    assert.ok(!html.includes("<script") && !/\ssrc=/.test(html), "the report loads nothing and runs nothing");
    for (const m of mine) assert.ok(html.includes(m.model), `the report names ${m.model}`);
    assert.ok(html.includes("Wilcoxon") && html.includes("Krippendorff"), "the report states its methods");

    // The results chart agrees with the export: one submitted item, so each model's mean
    // on every axis is the score its answer got.
    await (await study.find(tid("study-results-toggle"))).click();
    await waitFor(async () => (await study.findAll(tid("results-axis-row"))).length === mine.length * SCORE_AXES.length, {
      message: "one results-axis-row per model and axis",
    });
    for (const r of mine) {
      for (const axis of SCORE_AXES) {
        const bar = await study.find(`${tid("results-axis-row")}[data-model="${r.model}"][data-axis="${axis}"]`);
        assert.equal(Number(await bar.attribute("data-mean")), Number(r[axis]), `the chart's ${axis} mean of ${r.model}`);
      }
      const pref = await study.find(`${tid("results-preference-row")}[data-model="${r.model}"]`);
      assert.equal(await pref.attribute("data-wins"), r.preferred === "true" ? "1" : "0", `the chart's preference wins of ${r.model}`);
    }

    // The full report below the chart: with one rater on one item, each model's paired
    // difference against the baseline is one item's difference (no interval), the matrix
    // records the rater's choice, and agreement says why it cannot be computed.
    await waitFor(async () => (await study.findAll(tid("report-paired-row"))).length > 0, { message: "the report's paired rows" });
    const pairedRows = await study.findAll(tid("report-paired-row"));
    assert.equal(pairedRows.length, (mine.length - 1) * SCORE_AXES.length, "a paired row per non-baseline model and axis");
    const winner = mine.find((r) => r.preferred === "true");
    if (winner) {
      const cells = await study.findAll(`${tid("report-matrix")} tr[data-model="${winner.model}"] td[data-wins="1"]`);
      assert.ok(cells.length >= 1, `the matrix shows ${winner.model}'s win`);
    }
    const agreement = await study.find(`${tid("report-agreement")} tr[data-axis="accuracy"]`);
    assert.match(await agreement.text(), /not computable/, "one rater: agreement is not computable, and says so");

    // Each chart of the view saved as SVG, then as PNG, into a folder: the files are real SVG
    // and PNG, and a chart that cannot be drawn (the trend: no round yet) is named with why.
    const chartsDir = join(driver.dir, "charts, study");
    const dirInput = await study.find(tid("report-charts-dir"));
    await dirInput.clear();
    await dirInput.sendKeys(chartsDir);
    for (const format of ["svg", "png"]) {
      const before = (await study.findAll(tid("report-charts-result"))).length > 0 ? await (await study.find(tid("report-charts-result"))).text() : "";
      await (await study.find(tid(`report-charts-${format}`))).click();
      const said = await waitFor(
        async () => {
          const errs = await study.findAll(tid("report-charts-error"));
          if (errs.length > 0) throw new Error(`report-charts-error: ${await errs[0].text()}`);
          const r = await study.findAll(tid("report-charts-result"));
          const text = r.length > 0 ? await r[0].text() : "";
          return text && text !== before && text.includes(`.${format}`) ? text : null;
        },
        { message: `report-charts-result for ${format}` },
      );
      assert.match(said, /not drawn: .*round/, `the result says the trend is not drawn, and why (got ${JSON.stringify(said)})`);
      const means = readFileSync(join(chartsDir, `means-all.${format}`));
      if (format === "svg") assert.ok(means.toString("utf8").includes("<svg") && means.toString("utf8").includes("<style>"), "a standalone SVG");
      else assert.ok(means.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) && means.length > 2000, "a PNG");
    }

    // Closing asks first and can be undone.
    const status = async () => (await (await study.find(tid("study-status"))).text()).trim();
    await (await study.find(tid("study-close"))).click();
    const within = (id) => waitFor(async () => (await study.findAll(tid(id)))[0], { message: `${id} in the study card` });
    await (await within("study-close-confirm")).click();
    await waitFor(async () => (await status()) === "closed", { message: 'study-status to read "closed"' });
    await (await within("study-reopen")).click();
    await waitFor(async () => (await status()) === "open", { message: 'study-status to read "open" after reopening' });
  });
});
