// A tiny W3C WebDriver client over Node's built-in fetch: just what the end-to-end
// tests need to drive the real desktop app through tauri-driver. No dependencies.

/** The W3C identifier of an element reference in JSON. */
const ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf";

/** Code points WebDriver uses for special keys (W3C WebDriver, "Keyboard actions"). */
export const Key = Object.freeze({
  Tab: "\uE004",
  Enter: "\uE007",
  Shift: "\uE008",
  Control: "\uE009",
  Escape: "\uE00C",
  ArrowLeft: "\uE012",
  ArrowUp: "\uE013",
  ArrowRight: "\uE014",
  ArrowDown: "\uE015",
});

export class WebDriverError extends Error {
  constructor(status, error, message, command) {
    super(`${command}: ${error ?? "error"} (HTTP ${status}): ${message}`);
    this.name = "WebDriverError";
    this.status = status;
    this.error = error;
  }
}

/** CSS selector of a `data-testid`. */
export const tid = (id) => `[data-testid="${id}"]`;

const REPAINT_TICK_START = `
  if (!window.__e2eTick) {
    const dot = document.createElement("div");
    dot.setAttribute("aria-hidden", "true");
    dot.style.cssText = "position:fixed;right:0;bottom:0;width:1px;height:1px;pointer-events:none;z-index:2147483647;background:rgba(0,0,0,0.01)";
    document.documentElement.appendChild(dot);
    let n = 0;
    window.__e2eTick = { dot, timer: setInterval(() => { n++; dot.style.background = n % 2 ? "rgba(0,0,0,0.02)" : "rgba(0,0,0,0.01)"; }, 50) };
  }`;
const REPAINT_TICK_STOP = `
  if (window.__e2eTick) {
    clearInterval(window.__e2eTick.timer);
    window.__e2eTick.dot.remove();
    delete window.__e2eTick;
  }`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `fn` until it returns a truthy value (which is returned) or `timeoutMs` passes.
 * Exceptions inside `fn` count as "not yet"; the last one is reported on timeout.
 */
export async function waitFor(fn, { timeoutMs = 30_000, intervalMs = 150, message = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError = null;
  let lastValue;
  for (;;) {
    try {
      lastValue = await fn();
      if (lastValue) return lastValue;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  const why = lastError ? ` (last error: ${lastError.message})` : lastValue !== undefined ? ` (last value: ${JSON.stringify(lastValue)})` : "";
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}${why}`);
}

export class Element {
  constructor(session, id, description) {
    this.session = session;
    this.id = id;
    this.description = description;
  }
  get path() {
    return `/element/${this.id}`;
  }
  toJSON() {
    return { [ELEMENT_KEY]: this.id };
  }
  click() {
    return this.session.cmd("POST", `${this.path}/click`, {});
  }
  /** Types into the element (focusing it first); special keys from `Key` are allowed. */
  sendKeys(text) {
    return this.session.cmd("POST", `${this.path}/value`, { text });
  }
  clear() {
    return this.session.cmd("POST", `${this.path}/clear`, {});
  }
  /**
   * The rendered text (`innerText`). WebKitWebDriver's Get Element Text returns "" for some
   * visible elements (e.g. text in an `overflow: hidden` flex child), so a script reads it.
   */
  text() {
    return this.session.execute("return arguments[0].innerText;", this);
  }
  attribute(name) {
    return this.session.cmd("GET", `${this.path}/attribute/${encodeURIComponent(name)}`);
  }
  property(name) {
    return this.session.cmd("GET", `${this.path}/property/${encodeURIComponent(name)}`);
  }
  displayed() {
    return this.session.cmd("GET", `${this.path}/displayed`);
  }
  enabled() {
    return this.session.cmd("GET", `${this.path}/enabled`);
  }
  find(css) {
    return this.session.findIn(this, css);
  }
  findAll(css) {
    return this.session.findAllIn(this, css);
  }
}

export class Session {
  /** Starts a new session on the WebDriver server at `baseUrl` with `capabilities`. */
  static async create(baseUrl, capabilities, { timeoutMs = 60_000 } = {}) {
    const res = await request(baseUrl, "POST", "/session", { capabilities }, "new session", timeoutMs);
    return new Session(baseUrl, res.sessionId, res.capabilities);
  }

  constructor(baseUrl, id, capabilities) {
    this.baseUrl = baseUrl;
    this.id = id;
    this.capabilities = capabilities;
  }

  cmd(method, path, body, timeoutMs) {
    return request(this.baseUrl, method, `/session/${this.id}${path}`, body, `${method} ${path}`, timeoutMs);
  }

  async delete() {
    await this.cmd("DELETE", "", undefined, 30_000);
  }

  wrap(value, description) {
    const id = value?.[ELEMENT_KEY];
    if (!id) throw new Error(`not an element reference for ${description}: ${JSON.stringify(value)}`);
    return new Element(this, id, description);
  }

  async find(css) {
    return this.wrap(await this.cmd("POST", "/element", { using: "css selector", value: css }), css);
  }
  async findAll(css) {
    const list = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return list.map((v) => this.wrap(v, css));
  }
  async findIn(parent, css) {
    return this.wrap(await this.cmd("POST", `${parent.path}/element`, { using: "css selector", value: css }), css);
  }
  async findAllIn(parent, css) {
    const list = await this.cmd("POST", `${parent.path}/elements`, { using: "css selector", value: css });
    return list.map((v) => this.wrap(v, css));
  }
  async activeElement() {
    return this.wrap(await this.cmd("GET", "/element/active"), "active element");
  }

  /** Waits until `css` matches a displayed element and returns it. */
  waitFor(css, { timeoutMs = 30_000, displayed = true, message } = {}) {
    return waitFor(
      async () => {
        const el = await this.find(css);
        return !displayed || (await el.displayed()) ? el : null;
      },
      { timeoutMs, message: message ?? `element ${css}` },
    );
  }

  /** Waits until `css` matches no element (or only hidden ones). */
  waitGone(css, { timeoutMs = 30_000, message } = {}) {
    return waitFor(
      async () => {
        const els = await this.findAll(css);
        for (const el of els) if (await el.displayed()) return false;
        return true;
      },
      { timeoutMs, message: message ?? `${css} to disappear` },
    );
  }

  /** Runs a synchronous script in the page; `args` may include Elements. */
  execute(script, ...args) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  /**
   * Presses keys one by one at whatever element has focus (Actions API), like a person
   * at the keyboard. Each entry is a single character or a `Key` value.
   */
  async pressKeys(...keys) {
    const actions = [];
    for (const k of keys) {
      if ([...k].length !== 1) throw new Error(`pressKeys takes single keys, got ${JSON.stringify(k)}`);
      actions.push({ type: "keyDown", value: k }, { type: "keyUp", value: k });
    }
    await this.cmd("POST", "/actions", { actions: [{ type: "key", id: "keyboard", actions }] });
    await this.cmd("DELETE", "/actions");
  }

  /**
   * Presses a chord: every key down in order, then every key up in reverse (e.g.
   * `pressChord(Key.Control, Key.Enter)` for Ctrl+Enter).
   */
  async pressChord(...keys) {
    for (const k of keys) {
      if ([...k].length !== 1) throw new Error(`pressChord takes single keys, got ${JSON.stringify(k)}`);
    }
    const actions = [...keys.map((k) => ({ type: "keyDown", value: k })), ...[...keys].reverse().map((k) => ({ type: "keyUp", value: k }))];
    await this.cmd("POST", "/actions", { actions: [{ type: "key", id: "keyboard", actions }] });
    await this.cmd("DELETE", "/actions");
  }

  /**
   * The screenshot of the window's viewport as a PNG buffer.
   *
   * WebKitGTK answers the screenshot command only after the page paints a new frame, and an
   * idle page (no caret blinking, no animation) paints none, so the request would hang. A
   * tick that repaints one nearly transparent pixel in a corner every 50 ms for the duration
   * of the request makes the frame come.
   */
  async screenshot({ timeoutMs = 30_000 } = {}) {
    await this.execute(REPAINT_TICK_START);
    try {
      return Buffer.from(await this.cmd("GET", "/screenshot", undefined, timeoutMs), "base64");
    } finally {
      await this.execute(REPAINT_TICK_STOP).catch(() => undefined);
    }
  }

  title() {
    return this.cmd("GET", "/title");
  }
  getWindowRect() {
    return this.cmd("GET", "/window/rect");
  }
  setWindowRect(rect) {
    return this.cmd("POST", "/window/rect", rect);
  }
}

async function request(baseUrl, method, path, body, what, timeoutMs = 30_000) {
  const init = { method, headers: {}, signal: AbortSignal.timeout(timeoutMs) };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json; charset=utf-8";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`${baseUrl}${path}`, init);
  } catch (e) {
    throw new Error(`${what}: WebDriver request failed: ${e.cause?.message ?? e.message}`);
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // reported below
  }
  if (!res.ok || json === null) {
    throw new WebDriverError(res.status, json?.value?.error, json?.value?.message ?? text.slice(0, 500), what);
  }
  return json.value;
}

/** Waits until the WebDriver server answers /status (it is ready for a session). */
export function waitForServer(baseUrl, { timeoutMs = 30_000 } = {}) {
  return waitFor(
    async () => {
      const res = await fetch(`${baseUrl}/status`, { signal: AbortSignal.timeout(2_000) });
      return res.ok;
    },
    { timeoutMs, intervalMs: 200, message: `WebDriver server at ${baseUrl}` },
  );
}
