// The UI's only door to the backend: every call goes through the generated `commands`,
// and a `{status: "error"}` result becomes a thrown `CommandError` carrying the AppError fields.
import { Channel } from "@tauri-apps/api/core";
import { commands } from "./bindings";
import type { AppError, ErrorCode } from "./bindings";

/** The result shape every generated command resolves to. */
export type Result<T, E> = { status: "ok"; data: T } | { status: "error"; error: E };

export type * from "./bindings";

/** Codes the UI itself raises, beside the backend's closed set. */
export type UiOnlyCode = "ui_error" | "no_backend" | "invalid_input";

/** An error as the UI shows it: the backend's `AppError`, or one the UI raised itself. */
export type UiError = Omit<AppError, "code"> & { code: ErrorCode | UiOnlyCode };

export class CommandError extends Error {
  readonly code: UiError["code"];
  readonly details: string | null;

  constructor(err: UiError) {
    super(err.message);
    this.name = "CommandError";
    this.code = err.code;
    this.details = err.details;
  }
}

/** Turns anything a command can reject with into `{ code, message, details }`. */
export function toAppError(e: unknown): UiError {
  if (e instanceof CommandError) return { code: e.code, message: e.message, details: e.details };
  if (e && typeof e === "object" && "message" in e && typeof (e as { message: unknown }).message === "string") {
    const o = e as { code?: unknown; message: string; details?: unknown };
    return {
      // Errors from the backend carry one of its codes; anything else is the UI's own.
      code: typeof o.code === "string" ? (o.code as UiError["code"]) : "ui_error",
      message: o.message,
      details: typeof o.details === "string" ? o.details : null,
    };
  }
  return { code: "ui_error", message: String(e), details: null };
}

type Commands = typeof commands;
type Unwrapped<F> = F extends (...args: infer A) => Promise<Result<infer T, AppError>>
  ? (...args: A) => Promise<T>
  : never;

/** `api.x(...)` resolves to the data of `commands.x(...)` or throws a `CommandError`. */
export const api = new Proxy({} as { [K in keyof Commands]: Unwrapped<Commands[K]> }, {
  get(_target, prop: string) {
    const fn = (commands as Record<string, unknown>)[prop];
    if (typeof fn !== "function") return undefined;
    return async (...args: unknown[]) => {
      let res: Result<unknown, AppError>;
      try {
        res = await (fn as (...a: unknown[]) => Promise<Result<unknown, AppError>>)(...args);
      } catch (e) {
        // Outside Tauri (or on an IPC failure) invoke throws a plain Error.
        if (!insideTauri()) {
          throw new CommandError({
            code: "no_backend",
            message: "The desktop backend is not available (this page is running outside the LLM4Sweat app).",
            details: e instanceof Error ? e.message : String(e),
          });
        }
        throw new CommandError(toAppError(e));
      }
      if (res.status === "error") throw new CommandError(toAppError(res.error));
      return res.data;
    };
  },
});

function insideTauri(): boolean {
  return typeof window !== "undefined" && "__TAURI_INTERNALS__" in window;
}

/** A fresh id for a cancellable job. */
export function newJobId(prefix: string): string {
  const rand =
    typeof crypto !== "undefined" && "randomUUID" in crypto
      ? crypto.randomUUID()
      : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return `${prefix}-${rand}`;
}

/** A Channel whose messages go to `onMessage`. */
export function channel<T>(onMessage: (msg: T) => void): Channel<T> {
  if (!insideTauri()) {
    throw new CommandError({
      code: "no_backend",
      message: "The desktop backend is not available (this page is running outside the LLM4Sweat app).",
      details: null,
    });
  }
  const ch = new Channel<T>();
  ch.onmessage = onMessage;
  return ch;
}
