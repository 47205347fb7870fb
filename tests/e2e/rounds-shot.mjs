// Captures assets/screenshots/rounds.png: the Rounds screen of the real app on a workspace
// whose round has finished training (E2E_DB_TEMPLATE, e.g. after a default `round train`), so
// the loss curve is whole. Run under Xvfb after scripts/e2e.sh's preparation; not a test.
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { goTo } from "./lib/app.mjs";
import { AppDriver, step } from "./lib/harness.mjs";
import { tid } from "./lib/webdriver.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const out = resolve(process.env.SCREENSHOTS_DIR ?? join(root, "assets/screenshots"), "rounds.png");
const driver = await AppDriver.start("rounds-shot");
let code = 0;
try {
  const s = await driver.launch();
  const rect = await s.getWindowRect();
  if (rect.width !== 1440 || rect.height !== 900) await s.setWindowRect({ x: 0, y: 0, width: 1440, height: 900 });
  await step(driver, "rounds", async () => {
    await goTo(s, "rounds");
    await s.waitFor(`${tid("round-card")}[data-round="1"]`, { timeoutMs: 60_000, message: "round 1" });
    await s.waitFor(tid("round-curve-val"), { message: "the validation points of the curve" });
    // The round's card at the top of the window, so that its loss curve is in view.
    await s.execute(`document.querySelector('[data-testid="round-card"][data-round="1"]').scrollIntoView({ block: "start" });`);
    await s.cmd("POST", "/execute/async", {
      script: `const done = arguments[arguments.length - 1];
               document.fonts.ready.then(() => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));`,
      args: [],
    });
    writeFileSync(out, await s.screenshot());
    console.error(`[rounds-shot] wrote ${out}`);
  });
} catch (e) {
  console.error(e);
  code = 1;
} finally {
  await driver.stop();
}
process.exit(code);
