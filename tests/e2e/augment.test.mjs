// End-to-end: the expert's approval queue for synthetic items on the Synthetic screen of the
// real app. Six pending items are seeded into the test's workspace before the app starts (the
// `seed_synthetic` example: testkit's finished augmentation run, without a model). With the
// keyboard only, the expert approves one (A), edits one (E, Ctrl+Enter; a too-short edit is
// refused first with the core's reason), and rejects one with a reason (R, Enter); the counts
// follow, the cited facts sit beside the item, the runs panel and the balance chart render,
// and the CLI shows the edited item's original kept with the editor's name.
// Also writes assets/screenshots/augment-queue.png (SCREENSHOTS_DIR overrides the folder).
// Run it with scripts/e2e.sh --test-name-pattern=synthetic.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { goTo, waitForFocus } from "./lib/app.mjs";
import { AppDriver, step } from "./lib/harness.mjs";
import { Key, tid, waitFor } from "./lib/webdriver.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const EXPERT = "Dr. Queue Tester";

/** @type {AppDriver} */
let driver;

before(async () => {
  driver = await AppDriver.start("augment");
});

after(async () => {
  await driver?.stop();
});

/** The review counts the screen shows, from its data attributes. */
async function counts(s) {
  const el = await s.find(tid("synthetic-counts"));
  return {
    pending: Number(await el.attribute("data-pending")),
    approved: Number(await el.attribute("data-approved")),
    rejected: Number(await el.attribute("data-rejected")),
  };
}

function waitForCounts(s, want) {
  return waitFor(
    async () => {
      const c = await counts(s);
      return c.pending === want.pending && c.approved === want.approved && c.rejected === want.rejected ? c : null;
    },
    { message: `the counts to read ${JSON.stringify(want)}` },
  );
}

/** Waits until the item shown is `id` and returns its card. */
function waitForCurrent(s, id) {
  return s.waitFor(`${tid("synthetic-item")}[data-external-id="${id}"]`, { message: `item ${id} to be the current one` });
}

/** Sets a text field's value as typing would (one input event), without moving the focus. */
function setValue(s, el, value) {
  return s.execute(
    "const t = arguments[0]; t.value = arguments[1]; t.dispatchEvent(new Event('input', { bubbles: true }));",
    el,
    value,
  );
}

test("synthetic queue: approve, edit and reject with the keyboard; runs and balance", async () => {
  const cli = join(dirname(driver.cfg.app), "llm4sweat");
  const seeder = process.env.E2E_SEED_SYNTHETIC ?? join(dirname(driver.cfg.app), "examples/seed_synthetic");
  assert.ok(existsSync(seeder), `the seeder is built (${seeder}; scripts/e2e.sh builds it)`);
  const ids = execFileSync(seeder, [driver.db, "6"], { encoding: "utf8" }).trim().split("\n");
  assert.equal(ids.length, 6, ids.join(" "));

  let s;
  let original;
  await step(driver, "the queue shows the first pending item with its facts beside it", async () => {
    s = await driver.launch();
    const rect = await s.getWindowRect();
    if (rect.width !== 1440 || rect.height !== 900) await s.setWindowRect({ x: 0, y: 0, width: 1440, height: 900 });
    await goTo(s, "synthetic");
    const card = await waitForCurrent(s, ids[0]);
    assert.deepEqual(await counts(s), { pending: 6, approved: 0, rejected: 0 });
    assert.match(await (await s.find(tid("synthetic-position"))).text(), /^1 of 6/);
    assert.ok((await (await s.find(tid("synthetic-text"))).text()).length > 40, "the item's text");
    assert.ok((await (await s.find(tid("synthetic-answer"))).text()).length > 80, "the reference answer");
    assert.ok((await (await s.find(tid("synthetic-strata"))).text()).includes("intent"), "the strata chips");
    const facts = await s.findAll(tid("synthetic-fact"));
    assert.ok(facts.length >= 1, "the cited facts are listed");
    assert.match(await facts[0].text(), /\w+-\d+/, "a fact shows its id");
    const [itemRect, factsRect] = await s.execute(
      `return ['synthetic-item', 'synthetic-facts'].map((id) => {
         const r = document.querySelector('[data-testid="' + id + '"]').getBoundingClientRect();
         return { left: r.left, right: r.right, top: r.top };
       });`,
    );
    assert.ok(factsRect.left >= itemRect.right - 1, `the facts are beside the item (${JSON.stringify([itemRect, factsRect])})`);
    assert.ok(Math.abs(factsRect.top - itemRect.top) < 5, "side by side, top-aligned");
    void card;
  });

  await step(driver, "the expert names themself, leaves the field with Esc and approves with A", async () => {
    const name = await s.find(tid("synthetic-expert"));
    await name.click();
    await name.sendKeys(EXPERT);
    await s.pressKeys(Key.Escape);
    await waitForFocus(s, "synthetic-item", "Esc leaves the name field for the item");
    await s.pressKeys("a");
    await waitForCounts(s, { pending: 5, approved: 1, rejected: 0 });
    await waitForCurrent(s, ids[1]);
    assert.match(await (await s.find(tid("synthetic-notice"))).text(), new RegExp(`Approved ${ids[0]}`));
  });

  await step(driver, "J and K move through the queue", async () => {
    await s.pressKeys("j");
    await waitForCurrent(s, ids[2]);
    await s.pressKeys(Key.ArrowDown);
    await waitForCurrent(s, ids[3]);
    await s.pressKeys("k", "k");
    await waitForCurrent(s, ids[1]);
  });

  await step(driver, "E edits; the core refuses a too-short text; Ctrl+Enter saves and approves", async () => {
    original = await (await s.find(tid("synthetic-text"))).text();
    await s.pressKeys("e");
    await waitForFocus(s, "synthetic-edit-text", "E opens the editor with the focus in the text");
    const text = await s.find(tid("synthetic-edit-text"));
    assert.equal(await text.property("value"), original, "the editor starts from the stored text");
    await setValue(s, text, "Too short.");
    await s.pressChord(Key.Control, Key.Enter);
    const err = await s.waitFor(tid("synthetic-error"), { message: "the core's refusal of the edit" });
    assert.match(await err.text(), /the edit is not saved: the text has 10 characters; the pack allows 40/);
    assert.deepEqual(await counts(s), { pending: 5, approved: 1, rejected: 0 }, "nothing decided");
    await setValue(s, text, "I sweat so much from my palms that paper sticks to my hands at school. What can I try first?");
    await s.pressChord(Key.Control, Key.Enter);
    await waitForCounts(s, { pending: 4, approved: 2, rejected: 0 });
    await waitForCurrent(s, ids[2]);
  });

  await step(driver, "R asks for a reason; Enter rejects; Esc cancels", async () => {
    await s.pressKeys("r");
    await waitForFocus(s, "synthetic-reject-reason", "R opens the reason field");
    await s.pressKeys(Key.Enter);
    assert.match(await (await s.waitFor(tid("synthetic-error"))).text(), /Say why/);
    await s.pressKeys(Key.Escape);
    await s.waitGone(tid("synthetic-reject-reason"), { message: "Esc cancels the rejection" });
    await waitForCurrent(s, ids[2]);
    await s.pressKeys("r");
    const reason = await waitFor(async () => (await s.findAll(tid("synthetic-reject-reason")))[0], { message: "the reason field" });
    await waitForFocus(s, "synthetic-reject-reason", "R opens the reason field again");
    await reason.sendKeys("contradicts the cited fact");
    await s.pressKeys(Key.Enter);
    await waitForCounts(s, { pending: 3, approved: 2, rejected: 1 });
    await waitForCurrent(s, ids[3]);
  });

  await step(driver, "the runs panel and the balance chart", async () => {
    const run = await s.waitFor(tid("augment-run"), { message: "the seeded run" });
    assert.equal((await (await run.find(tid("augment-run-accepted"))).text()).trim(), "6 / 6");
    assert.match(await (await run.find(tid("augment-run-reasons"))).text(), /invalid json 1/);
    await s.waitFor(tid("augment-balance"), { message: "the balance chart" });
    const axes = await s.findAll(tid("augment-balance-axis"));
    assert.ok(axes.length >= 5, `a chart per quota axis (${axes.length})`);
    const bars = await s.findAll(`${tid("augment-balance")} rect`);
    assert.ok(bars.length >= 20, `a bar per value (${bars.length})`);
    // Five items left after the rejection: every axis counts five.
    const totals = await s.execute(
      `return [...document.querySelectorAll('[data-testid="augment-balance-axis"]')].map((svg) =>
         [...svg.querySelectorAll('g > text:last-child')].reduce((n, t) => n + Number(t.textContent), 0));`,
    );
    assert.ok(totals.every((n) => n === 5), `five items on every axis (${totals})`);
    // WebKitWebDriver gives no text for SVG elements: read it in the page.
    const ratios = await s.execute(`return [...document.querySelectorAll('[data-testid="augment-balance-ratio"]')].map((t) => t.textContent);`);
    assert.equal(ratios.length, axes.length);
    assert.ok(ratios.every((r) => /^max\/min (\d+\.\d\d|∞ \(a value has no item\))$/.test(r)), ratios.join(" | "));
  });

  await step(driver, "the screenshot of the queue", async () => {
    await s.execute("window.scrollTo(0, 0);");
    await s.cmd("POST", "/execute/async", {
      script: `const done = arguments[arguments.length - 1];
               document.fonts.ready.then(() => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));`,
      args: [],
    });
    const dir = resolve(process.env.SCREENSHOTS_DIR ?? join(root, "assets/screenshots"));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "augment-queue.png"), await s.screenshot());
  });

  await step(driver, "the CLI shows the edit with the original kept", async () => {
    await driver.close();
    const [item] = JSON.parse(execFileSync(cli, ["--db", driver.db, "--quiet", "augment", "show", ids[1], "--json"], { encoding: "utf8" }));
    assert.equal(item.review_status, "approved");
    assert.equal(item.reviewed_by, EXPERT);
    assert.match(item.text, /paper sticks to my hands/);
    assert.equal(item.revisions.length, 1);
    assert.equal(item.revisions[0].editor, EXPERT);
    assert.equal(item.revisions[0].text_before, original);
    const [rejected] = JSON.parse(execFileSync(cli, ["--db", driver.db, "--quiet", "augment", "show", ids[2], "--json"], { encoding: "utf8" }));
    assert.equal(rejected.review_status, "rejected");
    assert.equal(rejected.review_note, "contradicts the cited fact");
  });
});
