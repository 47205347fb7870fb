// End-to-end: llama.cpp runs in a supervised engine process of the desktop app. The chat
// streams an answer from it; when the engine process dies mid-answer (killed here, as an
// abort in llama.cpp would end it), the window stays up, the chat shows a clear error, and
// the next message is answered by a fresh engine process.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { goTo } from "./lib/app.mjs";
import { AppDriver, step } from "./lib/harness.mjs";
import { tid, waitFor } from "./lib/webdriver.mjs";

const WORKER_ARG = "__llm4sweat-engine-process";

/** @type {AppDriver} */
let driver;

before(async () => {
  driver = await AppDriver.start("engine");
});

after(async () => {
  await driver?.stop();
});

/** Engine processes started by this test's app: found by argument and by workspace. */
function enginePids() {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv[1] !== WORKER_ARG) continue;
      const env = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (env.includes(`LLM4SWEAT_DB=${driver.db}`)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

async function ask(s, question) {
  const input = await s.find(tid("chat-input"));
  await input.clear();
  await input.sendKeys(question);
  await (await s.find(tid("chat-send"))).click();
}

/** The text the model streamed into its last message so far ("" while it reads the prompt). */
async function lastAnswer(s) {
  const msgs = await s.findAll(`${tid("chat-message")}[data-role="assistant"] .msg-text`);
  const text = msgs.length ? (await msgs[msgs.length - 1].text()).trim() : "";
  return text.includes("Reading the prompt") ? "" : text;
}

test("engine: a dead engine process is an error in the chat, and the next message gets a fresh one", async () => {
  await step(driver, "chat survives engine crash", async () => {
    const s = await driver.launch();
    await goTo(s, "chat");
    const model = await s.find(tid("chat-model"));
    await waitFor(async () => (await model.property("value")) !== "", { message: "a model is chosen" });
    const maxTokens = await s.find(tid("chat-max-tokens"));
    await maxTokens.clear();
    await maxTokens.sendKeys("400");

    await ask(s, "Why do my hands sweat so much?");
    // Streaming has started: the engine process exists and is not the app.
    await waitFor(async () => (await lastAnswer(s)).length > 20, { timeoutMs: 120_000, message: "streamed text" });
    const pids = enginePids();
    assert.equal(pids.length, 1, `one engine process for this app (found ${pids})`);
    process.kill(pids[0], "SIGKILL");

    const error = await waitFor(async () => (await s.findAll(tid("chat-error")))[0], {
      timeoutMs: 60_000,
      message: "the chat error",
    });
    const text = await error.text();
    assert.match(text, /crashed/, text);
    assert.match(text, /SIGKILL/, text);

    // The window lives on and the next message is answered by a fresh engine process.
    await maxTokens.clear();
    await maxTokens.sendKeys("12");
    await ask(s, "Is sweating at night a concern?");
    const stats = await waitFor(async () => (await s.findAll(tid("chat-stats")))[0], {
      timeoutMs: 120_000,
      message: "the answer's stats",
    });
    assert.match(await stats.text(), /finished: (length|stop)/);
    assert.ok((await lastAnswer(s)).length > 0, "a second answer");
    const fresh = enginePids();
    assert.equal(fresh.length, 1, `one fresh engine process (found ${fresh})`);
    assert.notEqual(fresh[0], pids[0]);
  });
});
