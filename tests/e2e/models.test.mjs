// End-to-end: registering a GGUF file from the Models screen. Bad input (a missing file,
// a file that is not GGUF) gets a clear message and registers nothing; the real SmolLM2
// file is registered from its header and listed as intact.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { goTo } from "./lib/app.mjs";
import { AppDriver, step } from "./lib/harness.mjs";
import { tid, waitFor } from "./lib/webdriver.mjs";

/** @type {AppDriver} */
let driver;

before(async () => {
  driver = await AppDriver.start("models");
});

after(async () => {
  await driver?.stop();
});

test("models: add a GGUF file, refusing bad ones with a clear message", async () => {
  const model = process.env.LLM4SWEAT_TEST_MODEL;
  assert.ok(model, "LLM4SWEAT_TEST_MODEL names the SmolLM2 GGUF (scripts/env.sh sets it)");
  await step(driver, "add gguf", async () => {
    const s = await driver.launch();
    await goTo(s, "models");
    const rows = async () => (await s.findAll(tid("model-row"))).length;
    await waitFor(async () => (await rows()) >= 2, { message: "the two registered models" });
    const before = await rows();

    const path = await s.find(tid("add-gguf-path"));
    const name = await s.find(tid("add-gguf-name"));
    const add = await s.find(tid("add-gguf"));
    // Each attempt's message differs (it names the file), so a stale one from the previous
    // attempt is never mistaken for the answer.
    let last = null;
    const tryAdd = async (file, as) => {
      await path.clear();
      await path.sendKeys(file);
      await name.clear();
      await name.sendKeys(as);
      await add.click();
      last = await waitFor(
        async () => {
          const err = await s.findAll(tid("add-gguf-error"));
          if (err.length > 0) {
            const text = await err[0].text();
            return text !== last?.error ? { error: text } : null;
          }
          const ok = await s.findAll(tid("add-gguf-result"));
          return ok.length > 0 ? { ok: await ok[0].text() } : null;
        },
        { message: `add-gguf-error or add-gguf-result for ${file}` },
      );
      return last;
    };

    const missing = await tryAdd(join(driver.dir, "no-such-model.gguf"), "ghost");
    assert.ok(missing.error, `a missing file is refused (got ${JSON.stringify(missing)})`);
    assert.match(missing.error, /no-such-model\.gguf/, "the message names the file");

    const fake = join(driver.dir, "fake.gguf");
    writeFileSync(fake, "this is a text file, not a model\n");
    const notGguf = await tryAdd(fake, "fake");
    assert.ok(notGguf.error, `a text file is refused (got ${JSON.stringify(notGguf)})`);
    assert.match(notGguf.error, /GGUF/i, "the message says the file is not GGUF");
    assert.equal(await rows(), before, "nothing was registered");

    const good = await tryAdd(model, "smol-copy");
    assert.equal(good.ok, "Added smol-copy.", `the real model is registered (got ${JSON.stringify(good)})`);
    const row = await waitFor(async () => (await s.findAll(`${tid("model-row")}[data-model-name="smol-copy"]`))[0], {
      message: "a model-row for smol-copy",
    });
    assert.equal((await (await row.find(tid("model-state"))).text()).trim(), "intact", "the new model's file is intact");
  });
});
