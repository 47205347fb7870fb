// Steps in the LLM4Sweat UI shared by the end-to-end test and the screenshot script.
// Test ids: ui/TESTIDS.md. Keyboard bindings: ui/src/review/keyboard.ts.
import assert from "node:assert/strict";
import { Key, tid, waitFor } from "./webdriver.mjs";

/** Text that would unblind the review screen (model names, file names). */
export const BLINDING_LEAKS = ["smollm2", "gemma", ".gguf"];

/** Name and focus of the active element, for assertions about keyboard focus. */
export function activeTestId(s) {
  return s.execute("const a = document.activeElement; return a ? (a.getAttribute('data-testid') || a.tagName) : null;");
}

/** Waits until the element with test id `id` has the keyboard focus. */
export function waitForFocus(s, id, why) {
  return waitFor(async () => (await activeTestId(s)) === id, {
    timeoutMs: 10_000,
    intervalMs: 50,
    message: `keyboard focus on ${id}${why ? ` (${why})` : ""}`,
  });
}

/** Goes to a screen via the left navigation and waits for it to show. */
export async function goTo(s, screen) {
  await (await s.find(tid(`nav-${screen}`))).click();
  await s.waitFor(tid(`screen-${screen}`), { message: `screen-${screen} to show after clicking nav-${screen}` });
  await waitFor(async () => (await (await s.find(tid(`nav-${screen}`))).attribute("aria-current")) === "page", {
    message: `nav-${screen} to be marked as the current page`,
  });
}

/** Fills in and submits the new rater form; waits for "Reviewing as …". */
export async function createRater(s, name, specialty) {
  const nameInput = await s.waitFor(tid("rater-name"), { message: "the new rater form (rater-name)" });
  await nameInput.sendKeys(name);
  assert.equal(await nameInput.property("value"), name, "rater-name holds the typed name");
  const select = await s.find(tid("rater-specialty"));
  await (await select.find(`option[value="${specialty}"]`)).click();
  await waitFor(async () => (await select.property("value")) === specialty, {
    message: `rater-specialty to be "${specialty}"`,
  });
  await (await s.find(tid("create-rater"))).click();
  const current = await s.waitFor(tid("rater-current"), { message: "rater-current after creating the profile" });
  const text = await current.text();
  assert.ok(text.includes(name), `rater-current names the new rater (got ${JSON.stringify(text)})`);
  assert.ok(text.includes(specialty), `rater-current shows the specialty ${specialty} (got ${JSON.stringify(text)})`);
}

/** Waits for the rater's queue and returns its entries as plain data. */
export async function readQueue(s) {
  await s.waitFor(tid("queue"), { message: "the review queue" });
  const items = await s.findAll(tid("queue-item"));
  const out = [];
  for (const el of items) {
    out.push({
      el,
      id: await el.attribute("data-assignment-id"),
      status: await el.attribute("data-status"),
      ready: (await el.attribute("data-ready")) === "true",
    });
  }
  return out;
}

/** The entry of one assignment in the queue, once it has `status`. */
export function waitForQueueStatus(s, assignmentId, status) {
  return waitFor(
    async () => {
      const el = await s.find(`${tid("queue-item")}[data-assignment-id="${assignmentId}"]`);
      return (await el.attribute("data-status")) === status ? el : null;
    },
    { message: `queue item ${assignmentId} to have data-status="${status}"` },
  );
}

/** Waits for the open item `assignmentId` and returns its answer labels and row ids. */
export async function waitForItem(s, assignmentId) {
  const item = await s.waitFor(`${tid("review-item")}[data-assignment-id="${assignmentId}"]`, {
    message: `review-item ${assignmentId} to open`,
  });
  const labels = [];
  for (const a of await item.findAll(`article[data-testid^="answer-"]`)) {
    labels.push((await a.attribute("data-testid")).slice("answer-".length));
  }
  assert.ok(labels.length >= 2, `the item shows at least two blinded answers (got ${labels.join(", ")})`);
  const rows = [];
  for (const r of await item.findAll(`[data-testid^="row-${labels[0]}-"]`)) {
    rows.push((await r.attribute("data-testid")).slice(`row-${labels[0]}-`.length));
  }
  return { item, labels, rows };
}

/**
 * Scores to give, per answer (in label order): digits for the three axes and for the two
 * safety rows (harm 1 none / 2 mild–moderate / 3 severe; likelihood 1 low / 2 medium / 3 high).
 * Distinct per answer so that the export rows can be matched back.
 */
export const SCORE_PLANS = [
  { accuracy: 4, appropriateness: 3, empathy: 5, harm: 2, harm_likelihood: 1 },
  { accuracy: 2, appropriateness: 5, empathy: 3, harm: 3, harm_likelihood: 3 },
  { accuracy: 5, appropriateness: 4, empathy: 2, harm: 1, harm_likelihood: null },
  { accuracy: 1, appropriateness: 2, empathy: 4, harm: 1, harm_likelihood: null },
];
export const HARM_VALUES = ["none", "mild_moderate", "severe"];
export const LIKELIHOOD_VALUES = ["low", "medium", "high"];

/** The test id of the button that digit `d` selects in `row` of answer `label`. */
export function buttonFor(label, row, d) {
  if (row === "harm") return `harm-${label}-${HARM_VALUES[d - 1]}`;
  if (row === "harm_likelihood") return `likelihood-${label}-${LIKELIHOOD_VALUES[d - 1]}`;
  return `score-${label}-${row}-${d}`;
}

/** Every option button's test id of `row` of answer `label`. */
export function buttonsOf(label, row) {
  const n = row === "harm" || row === "harm_likelihood" ? 3 : 5;
  return Array.from({ length: n }, (_, i) => buttonFor(label, row, i + 1));
}

/** The aria-checked value of each test id, in one script call. */
export function ariaChecked(s, ids) {
  return s.execute(
    `return arguments[0].map((id) => {
       const el = document.querySelector('[data-testid="' + id + '"]');
       return el ? el.getAttribute('aria-checked') : null;
     });`,
    ids,
  );
}

/**
 * Scores every row of every answer with the keyboard only, starting with the focus on the
 * first row of the first answer: Tab and ArrowDown move down a column, ArrowRight moves to
 * the next answer (same row), ArrowUp climbs back to its first row, digits score.
 * `plans[i]` is used for `labels[i]`; a null entry leaves that row empty.
 */
export async function scoreWithKeyboard(s, labels, rows, plans, { check = true } = {}) {
  await waitForFocus(s, `row-${labels[0]}-${rows[0]}`, "the first row is focused when the item opens");
  let row = 0;
  for (let a = 0; a < labels.length; a++) {
    const label = labels[a];
    if (a > 0) {
      await s.pressKeys(Key.ArrowRight);
      await waitForFocus(s, `row-${label}-${rows[row]}`, "ArrowRight moves to the next answer, same row");
      while (row > 0) {
        await s.pressKeys(Key.ArrowUp);
        row--;
        await waitForFocus(s, `row-${label}-${rows[row]}`, "ArrowUp moves up one row");
      }
    }
    for (let r = 0; r < rows.length; r++) {
      if (r > 0) {
        // Tab through the first answer's rows, arrows through the others.
        await s.pressKeys(a === 0 ? Key.Tab : Key.ArrowDown);
        row = r;
        await waitForFocus(s, `row-${label}-${rows[r]}`, `${a === 0 ? "Tab" : "ArrowDown"} moves to the next row`);
      }
      const digit = plans[a][rows[r]];
      if (digit == null) continue;
      await s.pressKeys(String(digit));
      if (check) {
        const id = buttonFor(label, rows[r], digit);
        await waitFor(async () => (await ariaChecked(s, [id]))[0] === "true", {
          timeoutMs: 10_000,
          intervalMs: 50,
          message: `digit ${digit} on row-${label}-${rows[r]} to check ${id}`,
        });
      }
    }
  }
}

/** Returns the review screen's text and markup with every blinding leak found in it. */
export async function blindingLeaks(s) {
  const { text, html } = await s.execute(
    `const root = document.querySelector('[data-testid="screen-review"]');
     return { text: document.body.innerText, html: root ? root.outerHTML : '' };`,
  );
  const hay = `${text}\n${html}`.toLowerCase();
  return BLINDING_LEAKS.filter((w) => hay.includes(w));
}
