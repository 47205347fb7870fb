// Runs the real desktop app for a test: a private copy of the prepared demo workspace,
// tauri-driver (with WebKitWebDriver underneath) started with that workspace in its
// environment, and WebDriver sessions on it. Every session start launches the app,
// every session end closes it.
import { spawn } from "node:child_process";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Session, tid, waitFor, waitForServer } from "./webdriver.mjs";

/** Settings from the environment that scripts/e2e.sh (or scripts/screenshots.sh) sets. */
export function config() {
  const targetDir = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME ?? "/root", ".cache/llm4sweat/target");
  const cfg = {
    app: resolve(process.env.E2E_APP ?? join(targetDir, "debug/llm4sweat-desktop")),
    dbTemplate: process.env.E2E_DB_TEMPLATE ? resolve(process.env.E2E_DB_TEMPLATE) : null,
    tauriDriver: process.env.E2E_TAURI_DRIVER ?? "tauri-driver",
    nativeDriver: process.env.E2E_NATIVE_DRIVER ?? "/usr/bin/WebKitWebDriver",
    artifacts: resolve(process.env.E2E_ARTIFACTS ?? "/tmp/llm4sweat-e2e"),
    pidFile: process.env.E2E_PIDFILE ?? null,
  };
  const problems = [];
  if (!existsSync(cfg.app)) problems.push(`desktop binary not found: ${cfg.app} (set E2E_APP)`);
  if (!cfg.dbTemplate) problems.push("E2E_DB_TEMPLATE is not set (the prepared demo workspace)");
  else if (!existsSync(cfg.dbTemplate)) problems.push(`E2E_DB_TEMPLATE not found: ${cfg.dbTemplate}`);
  if (!process.env.DISPLAY) problems.push("DISPLAY is not set (run under xvfb-run)");
  if (problems.length > 0) {
    throw new Error(`end-to-end prerequisites missing — run scripts/e2e.sh:\n  ${problems.join("\n  ")}`);
  }
  mkdirSync(cfg.artifacts, { recursive: true });
  return cfg;
}

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** Sanitises a test name into a file name. */
export const slug = (s) => s.replace(/[^a-z0-9]+/gi, "-").replace(/^-|-$/g, "").toLowerCase().slice(0, 80);

export class AppDriver {
  /**
   * Copies the workspace template into a fresh temp dir and starts tauri-driver with an
   * environment that points the app at it. `name` labels the temp dir and artifacts.
   */
  static async start(name, cfg = config()) {
    const dir = mkdtempSync(join(tmpdir(), `llm4sweat-e2e-${slug(name)}-`));
    const db = join(dir, "workspace.sqlite3");
    copyFileSync(cfg.dbTemplate, db);
    for (const sub of ["models", "xdg-data", "xdg-config", "xdg-cache"]) mkdirSync(join(dir, sub));
    const port = await freePort();
    let nativePort = await freePort();
    while (nativePort === port) nativePort = await freePort();
    const env = {
      ...process.env,
      LLM4SWEAT_DB: db,
      LLM4SWEAT_MODELS_DIR: join(dir, "models"),
      // The webview's own storage (localStorage keeps the chosen rater) lives here, so every
      // test starts from a clean profile and a restart in the same test keeps it.
      XDG_DATA_HOME: join(dir, "xdg-data"),
      XDG_CONFIG_HOME: join(dir, "xdg-config"),
      XDG_CACHE_HOME: join(dir, "xdg-cache"),
      // WebKitGTK's DMA-BUF renderer does not work under Xvfb.
      WEBKIT_DISABLE_DMABUF_RENDERER: "1",
      // Software GL keeps rendering reliable without a GPU.
      LIBGL_ALWAYS_SOFTWARE: process.env.LIBGL_ALWAYS_SOFTWARE ?? "1",
      NO_AT_BRIDGE: "1",
    };
    const log = join(cfg.artifacts, `${slug(name)}.tauri-driver.log`);
    writeFileSync(log, `tauri-driver --port ${port} --native-port ${nativePort}\nLLM4SWEAT_DB=${db}\n`);
    const child = spawn(
      cfg.tauriDriver,
      ["--port", String(port), "--native-port", String(nativePort), "--native-driver", cfg.nativeDriver],
      { env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    const driver = new AppDriver(cfg, name, dir, db, port, child, log);
    if (cfg.pidFile && child.pid) appendFileSync(cfg.pidFile, `${child.pid}\n`);
    child.stdout.on("data", (d) => appendFileSync(log, d));
    child.stderr.on("data", (d) => appendFileSync(log, d));
    child.on("exit", (code, signal) => {
      driver.exited = { code, signal };
      appendFileSync(log, `\n[tauri-driver exited: code ${code} signal ${signal}]\n`);
    });
    const spawnError = new Promise((_, rej) => child.on("error", (e) => rej(new Error(`could not start ${cfg.tauriDriver}: ${e.message}`))));
    await Promise.race([waitForServer(driver.url, { timeoutMs: 30_000 }), spawnError]);
    return driver;
  }

  constructor(cfg, name, dir, db, port, child, log) {
    this.cfg = cfg;
    this.name = name;
    this.dir = dir;
    this.db = db;
    this.port = port;
    this.child = child;
    this.log = log;
    this.url = `http://127.0.0.1:${port}`;
    this.exited = null;
    this.session = null;
  }

  /** Launches the app (a new WebDriver session) and waits for the shell to render. */
  async launch() {
    if (this.session) throw new Error("a session is already open");
    const caps = { alwaysMatch: { "tauri:options": { application: this.cfg.app } } };
    this.session = await Session.create(this.url, caps, { timeoutMs: 90_000 });
    await this.session.waitFor(tid("nav-review"), { timeoutMs: 60_000, message: "the app shell (nav-review) after launch" });
    return this.session;
  }

  /** Ends the session: the app window closes and the app exits. */
  async close() {
    const s = this.session;
    this.session = null;
    if (s) await s.delete();
  }

  /** Saves a screenshot and the page's HTML of the open session (best effort). */
  async capture(label) {
    const s = this.session;
    if (!s) return null;
    const base = join(this.cfg.artifacts, `${slug(this.name)}--${slug(label)}`);
    try {
      writeFileSync(`${base}.png`, await s.screenshot());
    } catch (e) {
      appendFileSync(this.log, `\n[screenshot failed: ${e.message}]\n`);
    }
    try {
      writeFileSync(`${base}.html`, String(await s.execute("return document.documentElement.outerHTML;")));
    } catch {
      // the page may be gone
    }
    return `${base}.png`;
  }

  /** Ends any session and stops tauri-driver with everything it started. */
  async stop() {
    try {
      await this.close();
    } catch {
      // the app may already be gone; the process group is killed below anyway
    }
    await killGroup(this.child);
    // The temp workspace is kept for a look after a failure when E2E_KEEP=1.
    if (process.env.E2E_KEEP !== "1") rmSync(this.dir, { recursive: true, force: true });
  }
}

/** SIGTERM to the process group of `child` (it was spawned detached), SIGKILL if it lingers. */
async function killGroup(child) {
  if (!child?.pid) return;
  const alive = () => {
    try {
      process.kill(-child.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;
  }
  try {
    await waitFor(() => !alive(), { timeoutMs: 5_000, intervalMs: 100, message: "tauri-driver to exit" });
  } catch {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/**
 * Runs one step; on failure saves a screenshot (and the HTML) of the app into the
 * artifacts folder and adds its path to the error message.
 */
export async function step(driver, label, fn) {
  try {
    return await fn();
  } catch (e) {
    const shot = await driver?.capture(`FAILED ${label}`);
    if (shot && e instanceof Error) e.message = `${label}: ${e.message}\n  screenshot: ${shot}`;
    throw e;
  }
}
