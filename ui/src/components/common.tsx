// Small building blocks shared by every screen.
import type { ComponentChildren } from "preact";
import type { UiError } from "../api";

export function ErrorBox(props: { error: UiError | null; testid?: string; onDismiss?: () => void }) {
  const e = props.error;
  if (!e) return null;
  return (
    <div class="error-box" role="alert" data-testid={props.testid ?? "error"} data-error-code={e.code}>
      <div class="error-head">
        <strong>{e.message}</strong>
        {props.onDismiss && (
          <button type="button" class="link" onClick={props.onDismiss} aria-label="Dismiss error">
            Dismiss
          </button>
        )}
      </div>
      {e.details && (
        <details>
          <summary>Details ({e.code})</summary>
          <pre>{e.details}</pre>
        </details>
      )}
    </div>
  );
}

/** An error box as a table row under the row it belongs to; nothing without an error. */
export function ErrorRow(props: { error: UiError | null; colSpan: number; testid: string; onDismiss: () => void }) {
  if (!props.error) return null;
  return (
    <tr>
      <td colSpan={props.colSpan}>
        <ErrorBox error={props.error} testid={props.testid} onDismiss={props.onDismiss} />
      </td>
    </tr>
  );
}

/** A labelled bar; with `max` null it shows an indeterminate stripe and the text only. */
export function ProgressBar(props: {
  value: number;
  max: number | null;
  label: string;
  testid?: string;
  text?: string;
}) {
  const pct = props.max && props.max > 0 ? Math.min(100, Math.round((props.value / props.max) * 100)) : null;
  return (
    <div class="progress" data-testid={props.testid}>
      <div
        class={`progress-track${pct === null ? " indeterminate" : ""}`}
        role="progressbar"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={props.max ?? undefined}
        aria-valuenow={props.max ? props.value : undefined}
      >
        <div class="progress-fill" style={pct === null ? undefined : { width: `${pct}%` }} />
      </div>
      <div class="progress-text">{props.text ?? (props.max ? `${props.value} / ${props.max}` : `${props.value}`)}</div>
    </div>
  );
}

export function Chip(props: { kind: string; children: ComponentChildren; testid?: string }) {
  return (
    <span class={`chip chip-${props.kind.replace(/[^a-z_-]/gi, "")}`} data-testid={props.testid}>
      {props.children}
    </span>
  );
}

/** Text for a pending operation, so nothing ever spins without saying what it waits for. */
export function Busy(props: { children: ComponentChildren; testid?: string }) {
  return (
    <p class="busy" role="status" data-testid={props.testid ?? "busy"}>
      <span class="busy-dot" aria-hidden="true" />
      {props.children}
    </p>
  );
}

export function Field(props: { label: string; hint?: string; children: ComponentChildren }) {
  return (
    <label class="field">
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.hint && <span class="field-hint">{props.hint}</span>}
    </label>
  );
}
