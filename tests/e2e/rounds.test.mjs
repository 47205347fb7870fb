// End-to-end: the Rounds screen of the real app builds a round's dataset (balance chart),
// starts training on this machine in a supervised process (progress per step, the loss
// curve read back as it grows), and cancels it between steps: the round stays ready and
// says it can resume.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { goTo } from "./lib/app.mjs";
import { AppDriver, step } from "./lib/harness.mjs";
import { tid, waitFor } from "./lib/webdriver.mjs";

/** @type {AppDriver} */
let driver;

before(async () => {
  driver = await AppDriver.start("rounds");
});

after(async () => {
  await driver?.stop();
});

test("rounds: build a dataset, train with progress and a loss curve, cancel between steps", async () => {
  await step(driver, "build and train a round", async () => {
    const s = await driver.launch();
    await goTo(s, "rounds");
    await s.waitFor(tid("rounds-empty"), { message: "the empty state" });
    const seed = await s.find(tid("round-seed"));
    await seed.sendKeys("5");
    await (await s.find(tid("round-create"))).click();
    const card = await s.waitFor(`${tid("round-card")}[data-round="1"]`, { timeoutMs: 60_000, message: "round 1" });
    const examples = await (await s.find(tid("round-examples"))).text();
    assert.match(examples, /^\d{3} \(\d+ train, \d+ validation\)$/, examples);
    const bars = await s.findAll(`${tid("round-balance")} rect`);
    assert.ok(bars.length >= 6, `a bar per category and split (${bars.length})`);
    assert.equal((await (await s.find(tid("round-status"))).text()).trim(), "dataset ready");
    void card;

    // A context that is not a multiple of 256 is refused before anything starts.
    const ctx = await s.find(tid("round-context"));
    await ctx.clear();
    await ctx.sendKeys("300");
    await (await s.find(tid("round-train"))).click();
    const err = await s.waitFor(tid("round-error"), { message: "the context error" });
    assert.match(await err.text(), /multiple of 256/);
    await ctx.clear();
    await ctx.sendKeys("256");
    const epochs = await s.find(tid("round-epochs"));
    await epochs.clear();
    await epochs.sendKeys("1");

    await (await s.find(tid("round-train"))).click();
    const progress = await s.waitFor(tid("round-progress"), { message: "the training progress" });
    await waitFor(async () => /step \d+\/\d+ · loss \d/.test(await progress.text()), {
      timeoutMs: 240_000,
      message: "a training step with its loss",
    });
    // The curve is read back from the workspace while the job runs.
    await waitFor(async () => (await s.findAll(tid("round-curve-val"))).length >= 1, {
      timeoutMs: 30_000,
      message: "the validation loss before training on the curve",
    });
    await driver.capture("training");
    await (await s.find(tid("round-cancel"))).click();
    const cancelled = await waitFor(async () => (await s.findAll(tid("round-error")))[0], {
      timeoutMs: 120_000,
      message: "the cancel to end the run",
    });
    assert.match(await cancelled.text(), /cancelled/);
    await waitFor(async () => (await (await s.find(tid("round-status"))).text()).trim() === "dataset ready", {
      message: "the round is ready again",
    });
    assert.equal((await s.findAll(tid("round-job"))).length, 0, "no job left running");
  });
});
