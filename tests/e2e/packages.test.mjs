// End-to-end: offline rating with a study package. The coordinator (the CLI, on its own copy of
// the demo workspace) exports the package of a new rater; the real desktop app, on a fresh
// workspace of its own, opens the package, the rater rates one item with the keyboard and
// writes the ratings file; the app, reopened on the coordinator's workspace, merges it (and
// refuses a bad file beside it) on the Studies screen, and the rating is in the report.
// Run it with scripts/e2e.sh.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { ariaChecked, goTo, readQueue, SCORE_PLANS, scoreWithKeyboard, waitForItem } from "./lib/app.mjs";
import { AppDriver, step } from "./lib/harness.mjs";
import { tid, waitFor } from "./lib/webdriver.mjs";

const RATER = `Offline Rater ${Date.now().toString(36)}`;

/** @type {AppDriver} */
let driver;

before(async () => {
  driver = await AppDriver.start("packages");
});

after(async () => {
  await driver?.stop();
});

test("offline package: open in the app, rate, return, merge", async () => {
  const cli = join(dirname(driver.cfg.app), "llm4sweat");
  assert.ok(existsSync(cli), `the CLI binary is built beside the app (${cli})`);
  const coordinator = join(driver.dir, "coordinator.sqlite3");
  copyFileSync(driver.cfg.dbTemplate, coordinator);
  const run = (...args) => execFileSync(cli, ["--db", coordinator, "--quiet", ...args], { encoding: "utf8" });
  const pkg = join(driver.dir, "package for the rater.zip");
  const returned = join(driver.dir, "ratings from the rater.zip");

  await step(driver, "the coordinator exports the rater's package", async () => {
    run("rater", "add", RATER, "--specialty", "dermatology");
    const out = run("package", "export", "--study", "Demo study", "--rater", RATER, "--out", pkg);
    assert.match(out, /wrote the package/);
    const bytes = readFileSync(pkg);
    for (const leak of ["smollm2", "gemma", ".gguf"]) assert.ok(!bytes.includes(leak), `the package does not name ${leak}`);
  });

  // The rater's laptop: a workspace of its own, without the coordinator's study.
  for (const f of [driver.db, `${driver.db}-wal`, `${driver.db}-shm`]) rmSync(f, { force: true });

  let item;
  await step(driver, "the app opens the package and the rater rates one item", async () => {
    const s = await driver.launch();
    await (await s.waitFor(tid("package-path"), { message: "the open-package form" })).sendKeys(pkg);
    await (await s.find(tid("package-open"))).click();
    await s.waitFor(tid("rater-current"), { timeoutMs: 30_000, message: "the package's rater chosen after opening" });
    assert.match(await (await s.find(tid("rater-current"))).text(), new RegExp(RATER));
    const queue = await waitFor(async () => {
      const q = await readQueue(s);
      return q.length > 0 ? q : null;
    }, { message: "the package's items in the queue" });
    assert.ok(queue.every((q) => q.ready && q.status === "pending"), "every item of the package is ready to rate");
    const first = queue[0];
    await first.el.click();
    const { labels, rows } = await waitForItem(s, first.id);
    // On a fresh workspace the first-run banner names the models it offers to fetch; the
    // review screen itself must name none.
    const screen = String(await s.execute(`return document.querySelector('[data-testid="screen-review"]').outerHTML;`)).toLowerCase();
    for (const leak of ["smollm2", "gemma", ".gguf"]) assert.ok(!screen.includes(leak), `the review screen does not name ${leak}`);
    await scoreWithKeyboard(s, labels, rows, labels.map((_, i) => SCORE_PLANS[i]));
    await s.pressKeys(labels[0].toLowerCase());
    await waitFor(async () => (await ariaChecked(s, [`pref-${labels[0]}`]))[0] === "true", { message: "the preference" });
    await waitFor(async () => (await (await s.find(tid("missing-count"))).text()).includes("Complete"), { message: "complete" });
    await (await s.find(tid("submit"))).click();
    await waitFor(async () => {
      const items = await s.findAll(tid("review-item"));
      if (items.length === 0) return true;
      return (await items[0].attribute("data-assignment-id")) !== first.id;
    }, { message: "the next item after submitting" });
    item = { labels };
  });

  await step(driver, "the rater writes the ratings file", async () => {
    const s = driver.session;
    const back = await s.findAll(tid("back-to-queue"));
    if (back.length > 0) await back[0].click();
    await s.waitFor(tid("queue"), { message: "the queue" });
    await s.execute("document.querySelector('.return-ratings details').open = true;");
    const input = await s.find(tid("return-path"));
    await input.clear();
    await input.sendKeys(returned);
    await (await s.find(tid("return-ratings"))).click();
    const said = await waitFor(async () => {
      const errs = await s.findAll(tid("return-error"));
      if (errs.length > 0) throw new Error(`return-error: ${await errs[0].text()}`);
      const r = await s.findAll(tid("return-result"));
      return r.length > 0 ? r[0].text() : null;
    }, { message: "return-result" });
    assert.match(said, new RegExp(`Wrote ${item.labels.length} ratings`), said);
    assert.ok(existsSync(returned));
  });

  await step(driver, "the coordinator merges the file on the Studies screen", async () => {
    // The coordinator's machine: the app reopened on the coordinator's workspace.
    await driver.close();
    for (const f of [driver.db, `${driver.db}-wal`, `${driver.db}-shm`]) rmSync(f, { force: true });
    copyFileSync(coordinator, driver.db);
    const s = await driver.launch();
    await goTo(s, "studies");
    const study = await waitFor(
      async () => {
        for (const row of await s.findAll(tid("study-row"))) {
          if ((await row.attribute("data-study-name")) === "Demo study") return row;
        }
        return null;
      },
      { message: 'the study-row of "Demo study"' },
    );
    const bogus = join(driver.dir, "not a package.zip");
    writeFileSync(bogus, "hello");
    // Two lines (a WebDriver newline key is not portable): set the value and fire the input event.
    await s.execute(
      "const t = arguments[0]; t.value = arguments[1]; t.dispatchEvent(new Event('input', { bubbles: true }));",
      await study.find(tid("study-merge-paths")),
      `${returned}\n${bogus}`,
    );
    await (await study.find(tid("study-merge"))).click();
    const files = await waitFor(
      async () => {
        const r = await study.findAll(tid("study-merge-file"));
        return r.length === 2 ? r : null;
      },
      { message: "an outcome per file" },
    );
    assert.equal(await files[0].attribute("data-ok"), "yes", await files[0].text());
    assert.equal(Number(await files[0].attribute("data-added")), item.labels.length + 1, "the ratings and the preference added");
    assert.equal(await files[1].attribute("data-ok"), "no");
    assert.match(await files[1].text(), /refused: .*not an llm4sweat package/, "the bad file is refused with the reason");
  });

  await step(driver, "merging again adds nothing, and the rating is in the report", async () => {
    await driver.close();
    const again = execFileSync(cli, ["--db", driver.db, "--quiet", "package", "merge", returned], { encoding: "utf8" });
    assert.match(again, /merged before; nothing added/);
    const report = JSON.parse(execFileSync(cli, ["--db", driver.db, "--quiet", "report", "--study", "Demo study", "--format", "json"], { encoding: "utf8" }));
    assert.equal(report.overall.ratings, item.labels.length, "the merged item's ratings count in the report");
    assert.ok(report.study.raters.some((r) => r.name === RATER), "the offline rater is in the report");
  });
});
