// Captures the main screens of the real desktop app at 1440×900 into assets/screenshots/
// (review.png, studies.png, results.png, models.png, chat.png). Run it with scripts/screenshots.sh,
// which builds the app and prepares the demo workspace. Not a test file (no *.test.mjs).
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRater, goTo, readQueue, SCORE_PLANS, scoreWithKeyboard, waitForItem } from "./lib/app.mjs";
import { AppDriver, step } from "./lib/harness.mjs";
import { Key, tid, waitFor } from "./lib/webdriver.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const outDir = resolve(process.env.SCREENSHOTS_DIR ?? join(root, "assets/screenshots"));
const CHAT_MODEL = "smollm2-135m-instruct";
const QUESTION = process.env.SCREENSHOT_QUESTION ?? "My palms sweat so much that I drop my pen at school. What can help?";
const log = (m) => console.error(`[screenshots] ${m}`);

async function save(s, name) {
  // Settle: no pending layout, fonts loaded, two frames painted.
  await s.cmd("POST", "/execute/async", {
    script: `const done = arguments[arguments.length - 1];
             document.fonts.ready.then(() => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));`,
    args: [],
  });
  const png = await s.screenshot();
  const w = png.readUInt32BE(16);
  const h = png.readUInt32BE(20);
  assert.equal(`${w}x${h}`, "1440x900", `${name}.png is 1440×900`);
  const file = join(outDir, `${name}.png`);
  writeFileSync(file, png);
  log(`wrote ${file} (${w}×${h}, ${png.length} bytes)`);
}

const driver = await AppDriver.start("screenshots");
let exitCode = 0;
try {
  mkdirSync(outDir, { recursive: true });
  const s = await driver.launch();
  const rect = await s.getWindowRect();
  if (rect.width !== 1440 || rect.height !== 900) await s.setWindowRect({ x: 0, y: 0, width: 1440, height: 900 });

  await step(driver, "review", async () => {
    await createRater(s, "Dr. Maya Lindqvist", "dermatology");
    const queue = await readQueue(s);
    await queue[0].el.click();
    const { labels, rows } = await waitForItem(s, queue[0].id);
    // A few scores: the first answer's three axes, the second answer's accuracy.
    const plans = labels.map((_, i) =>
      i === 0
        ? { ...SCORE_PLANS[0], harm: null, harm_likelihood: null }
        : { accuracy: i === 1 ? SCORE_PLANS[1].accuracy : null },
    );
    await scoreWithKeyboard(s, labels.slice(0, 2), rows.slice(0, 3), plans);
    await waitFor(async () => (await (await s.find(tid("save-status"))).attribute("data-state")) === "saved", {
      message: "the scores to be saved",
    });
    // Back to the top of the first answer, so the hint shows its anchors.
    await s.pressKeys(Key.ArrowLeft);
    await s.execute("window.scrollTo(0, 0); document.querySelectorAll('.answer-text').forEach((e) => (e.scrollTop = 0));");
    await save(s, "review");
    await (await s.find(tid("back-to-queue"))).click();
    await s.waitFor(tid("queue"));
  });

  await step(driver, "studies", async () => {
    await goTo(s, "studies");
    await s.waitFor(tid("study-row"), { message: "the demo study card" });
    await (await s.find(tid("study-new"))).click();
    const form = await s.waitFor(tid("study-form"), { message: "the new study form" });
    await waitFor(async () => (await form.findAll('input[type="checkbox"]')).length >= 3, {
      message: "model and rater checkboxes in the form",
    });
    await (await form.find(tid("study-name"))).sendKeys("Pilot: palmar hyperhidrosis");
    for (const cb of await form.findAll('input[type="checkbox"]')) await cb.click();
    // One rater chosen: one rater per item keeps the form valid.
    const overlap = await form.find(tid("study-overlap"));
    await overlap.clear();
    await overlap.sendKeys("1");
    await s.execute("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);");
    await save(s, "studies");
  });

  await step(driver, "results", async () => {
    // Rate and submit a few more items with the keyboard, as a rater would, so that the
    // coordinator's results chart has something to show.
    await (await s.find(tid("study-new"))).click(); // closes the new-study form
    await goTo(s, "review");
    const queue = await readQueue(s);
    for (const [n, entry] of queue.slice(1, 5).entries()) {
      // The queue re-renders after each submit: find the entry afresh.
      await (await s.waitFor(`${tid("queue-item")}[data-assignment-id="${entry.id}"]`)).click();
      const { labels, rows } = await waitForItem(s, entry.id);
      const plans = labels.map((_, i) => SCORE_PLANS[(n + i) % SCORE_PLANS.length]);
      await scoreWithKeyboard(s, labels, rows, plans, { check: false });
      await s.pressKeys(labels[n % labels.length].toLowerCase());
      await waitFor(async () => (await (await s.find(tid("missing-count"))).text()).includes("Complete"), {
        message: "the item to be complete",
      });
      await s.pressKeys(Key.Enter);
      // The next item opens by itself (or the queue says it is done).
      await waitFor(async () => {
        const items = await s.findAll(tid("review-item"));
        if (items.length === 0) return (await s.findAll(tid("queue-done"))).length > 0;
        return (await items[0].attribute("data-assignment-id")) !== entry.id;
      }, { message: "the submitted item to be replaced" });
      const backs = await s.findAll(tid("back-to-queue"));
      if (backs.length > 0) await backs[0].click();
      await s.waitFor(tid("queue"));
    }
    await goTo(s, "studies");
    const toggle = await s.waitFor(tid("study-results-toggle"), { message: "the results button" });
    await toggle.click();
    await s.waitFor(tid("results-basis"), { message: "the results panel with submitted ratings" });
    await s.execute(
      "document.activeElement && document.activeElement.blur(); document.querySelector('[data-testid=\"study-results-toggle\"]').scrollIntoView({ block: 'start' });",
    );
    await save(s, "results");
  });

  await step(driver, "models", async () => {
    await goTo(s, "models");
    await waitFor(async () => (await s.findAll(tid("model-row"))).length >= 2, { message: "two model rows" });
    await s.execute("window.scrollTo(0, 0); document.querySelector('.app-main')?.scrollTo(0, 0);");
    await save(s, "models");
  });

  await step(driver, "chat", async () => {
    await goTo(s, "chat");
    const select = await s.waitFor(tid("chat-model"), { message: "the model selector" });
    await (await select.find(`option[value="${CHAT_MODEL}"]`)).click();
    await waitFor(async () => (await select.property("value")) === CHAT_MODEL, { message: `chat-model = ${CHAT_MODEL}` });
    const maxTokens = await s.find(tid("chat-max-tokens"));
    await maxTokens.clear();
    await maxTokens.sendKeys(process.env.SCREENSHOT_MAX_TOKENS ?? "160");
    const input = await s.find(tid("chat-input"));
    await input.sendKeys(QUESTION);
    await input.sendKeys(Key.Enter);
    const started = Date.now();
    const stats = await waitFor(
      async () => {
        const errs = await s.findAll(tid("chat-error"));
        if (errs.length > 0) throw new Error(`chat-error: ${await errs[0].text()}`);
        const el = await s.findAll(tid("chat-stats"));
        return el.length > 0 ? el[0].text() : null;
      },
      { timeoutMs: 240_000, intervalMs: 500, message: "chat-stats after the answer" },
    );
    log(`chat answered in ${((Date.now() - started) / 1000).toFixed(1)} s: ${stats.trim()}`);
    const answers = await s.findAll(`${tid("chat-message")}[data-role="assistant"]`);
    assert.ok(answers.length > 0 && (await answers[answers.length - 1].text()).trim().length > 20, "the model answered");
    // No caret in the input: it would blink into the picture.
    await s.execute("document.activeElement && document.activeElement.blur();");
    await save(s, "chat");
  });
} catch (e) {
  console.error(e);
  exitCode = 1;
} finally {
  await driver.stop();
}
process.exit(exitCode);
