// Private chat with any registered model, with its sampling settings in view and
// tokens streamed over a Channel.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, channel, newJobId, toAppError } from "../api";
import type { ChatEvent, ChatMessage, GenerationOutput, ModelView, SamplingParams } from "../bindings";
import { Busy, ErrorBox, Field } from "../components/common";
import { useLoaded } from "../components/useLoaded";

type Turn = ChatMessage & { streaming?: boolean };

const PARAM_FIELDS: { key: keyof SamplingParams; label: string; step: string; testid: string; hint?: string }[] = [
  { key: "temperature", label: "Temperature", step: "0.05", testid: "chat-temperature" },
  { key: "top_p", label: "Top p", step: "0.01", testid: "chat-top-p" },
  { key: "top_k", label: "Top k", step: "1", testid: "chat-top-k" },
  { key: "min_p", label: "Min p", step: "0.01", testid: "chat-min-p" },
  { key: "repeat_penalty", label: "Repeat penalty", step: "0.01", testid: "chat-repeat-penalty" },
  { key: "repeat_last_n", label: "Repeat window", step: "1", testid: "chat-repeat-last-n" },
  { key: "max_tokens", label: "Max tokens", step: "1", testid: "chat-max-tokens" },
  { key: "seed", label: "Seed", step: "1", testid: "chat-seed" },
];

export function ChatScreen(props: { active: boolean }) {
  const [model, setModel] = useState("");
  // The model list reloads whenever the screen is shown; the choice survives if still there.
  const { data: models, error, setError } = useLoaded(
    () =>
      api.listModels().then((m) => {
        setModel((cur) => (cur && m.some((x) => x.name === cur) ? cur : (m[0]?.name ?? "")));
        return m;
      }),
    props.active,
    [] as ModelView[],
  );
  const [defaults, setDefaults] = useState<{ system_prompt: string; params: SamplingParams } | null>(null);
  const [system, setSystem] = useState("");
  const [params, setParams] = useState<Record<keyof SamplingParams, string> | null>(null);
  const [turns, setTurns] = useState<Turn[]>([]);
  const [input, setInput] = useState("");
  const [jobId, setJobId] = useState<string | null>(null);
  const [last, setLast] = useState<GenerationOutput | null>(null);
  const listRef = useRef<HTMLDivElement>(null);

  const applyDefaults = (d: { system_prompt: string; params: SamplingParams }) => {
    setSystem(d.system_prompt);
    setParams(Object.fromEntries(Object.entries(d.params).map(([k, v]) => [k, String(v)])) as Record<keyof SamplingParams, string>);
  };

  useEffect(() => {
    api
      .chatDefaults()
      .then((d) => {
        setDefaults(d);
        applyDefaults(d);
      })
      .catch((e) => setError(toAppError(e)));
  }, []);

  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [turns]);

  const parsed: SamplingParams | null = (() => {
    if (!params) return null;
    const out = {} as SamplingParams;
    for (const f of PARAM_FIELDS) {
      const n = Number(params[f.key]);
      if (params[f.key].trim() === "" || !Number.isFinite(n)) return null;
      out[f.key] = n;
    }
    return out;
  })();

  const selected = models?.find((m) => m.name === model) ?? null;

  const send = async () => {
    const text = input.trim();
    if (!text || jobId || !model || !parsed) return;
    const history: ChatMessage[] = [
      ...(system.trim() ? [{ role: "system" as const, content: system }] : []),
      ...turns.map(({ role, content }) => ({ role: role as ChatMessage["role"], content })),
      { role: "user" as const, content: text },
    ];
    const id = newJobId("chat");
    setInput("");
    setError(null);
    setLast(null);
    setTurns((t) => [...t, { role: "user", content: text }, { role: "assistant", content: "", streaming: true }]);
    setJobId(id);
    const patchLast = (f: (t: Turn) => Turn) =>
      setTurns((ts) => (ts.length === 0 ? ts : [...ts.slice(0, -1), f(ts[ts.length - 1]!)]));
    try {
      const ch = channel<ChatEvent>((e) => {
        if (e.kind === "token") patchLast((t) => ({ ...t, content: t.content + e.text }));
      });
      const out = await api.chat(id, model, history, parsed, ch);
      // The final text is authoritative (streamed pieces may be split differently).
      patchLast((t) => ({ role: t.role, content: out.text || t.content }));
      setLast(out);
    } catch (e) {
      patchLast((t) => ({ role: t.role, content: t.content }));
      setError(toAppError(e));
    } finally {
      setJobId(null);
    }
  };

  const stop = async () => {
    if (!jobId) return;
    try {
      await api.cancelJob(jobId);
    } catch (e) {
      setError(toAppError(e));
    }
  };

  return (
    <div class="screen screen-wide" data-testid="screen-chat">
      <div class="screen-head">
        <h1>Chat</h1>
        <p class="muted small" data-testid="chat-privacy">
          Local models never send anything over the network.
          {selected?.kind === "remote" && (
            <strong class="warn"> This model is a remote endpoint: messages go to {selected.location}.</strong>
          )}
        </p>
      </div>
      <ErrorBox error={error} testid="chat-error" onDismiss={() => setError(null)} />
      <div class="chat-layout">
        <aside class="card chat-settings">
          <Field label="Model">
            {models === null ? (
              <Busy>Loading models…</Busy>
            ) : (
              <select data-testid="chat-model" value={model} disabled={jobId !== null} onChange={(e) => setModel(e.currentTarget.value)}>
                {models.length === 0 && <option value="">No models registered</option>}
                {models.map((m) => (
                  <option key={m.name} value={m.name}>
                    {m.name} ({m.kind})
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="System prompt">
            <textarea data-testid="chat-system" rows={6} value={system} onInput={(e) => setSystem(e.currentTarget.value)} />
          </Field>
          {params ? (
            <div class="params-grid">
              {PARAM_FIELDS.map((f) => (
                <Field key={f.key} label={f.label}>
                  <input
                    class="num"
                    type="number"
                    step={f.step}
                    data-testid={f.testid}
                    value={params[f.key]}
                    onInput={(e) => setParams({ ...params, [f.key]: e.currentTarget.value })}
                  />
                </Field>
              ))}
            </div>
          ) : (
            !error && <Busy>Loading default settings…</Busy>
          )}
          {params && !parsed && <p class="field-error">Every setting needs a number.</p>}
          <div class="toolbar">
            <button type="button" data-testid="chat-reset" disabled={!defaults} onClick={() => defaults && applyDefaults(defaults)}>
              Reset settings
            </button>
            <button
              type="button"
              data-testid="chat-clear"
              disabled={jobId !== null || turns.length === 0}
              onClick={() => {
                setTurns([]);
                setLast(null);
              }}
            >
              Clear conversation
            </button>
          </div>
        </aside>
        <section class="chat-main">
          <div class="chat-log" ref={listRef} data-testid="chat-log" aria-live="polite">
            {turns.length === 0 && <p class="empty">Ask the model something. Nothing here is stored.</p>}
            {turns.map((t, i) => (
              <div key={i} class={`msg msg-${t.role}`} data-testid="chat-message" data-role={t.role}>
                <div class="msg-role">{t.role === "user" ? "You" : "Model"}</div>
                <div class="msg-text">
                  {t.content}
                  {t.streaming && <span class="caret" aria-hidden="true" />}
                  {t.streaming && t.content === "" && <span class="muted">Reading the prompt…</span>}
                </div>
              </div>
            ))}
          </div>
          {last && (() => {
            const promptMs = last.prompt_ms ?? 0;
            const genMs = last.generation_ms ?? 0;
            return (
            <p class="muted small" data-testid="chat-stats">
              {last.prompt_tokens} prompt tokens in {(promptMs / 1000).toFixed(1)} s · {last.completion_tokens} tokens in{" "}
              {(genMs / 1000).toFixed(1)} s
              {genMs > 0 ? ` (${((last.completion_tokens * 1000) / genMs).toFixed(1)} tok/s)` : ""} · finished:{" "}
              {last.finish_reason}
            </p>
            );
          })()}
          <form
            class="chat-input"
            onSubmit={(e) => {
              e.preventDefault();
              void send();
            }}
          >
            <textarea
              data-testid="chat-input"
              rows={3}
              value={input}
              placeholder="Type a message — Enter sends, Shift+Enter adds a line"
              onInput={(e) => setInput(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
                  e.preventDefault();
                  void send();
                }
              }}
            />
            {jobId ? (
              <button type="button" class="danger" data-testid="chat-stop" onClick={() => void stop()}>
                Stop
              </button>
            ) : (
              <button type="submit" class="primary" data-testid="chat-send" disabled={!input.trim() || !model || !parsed}>
                Send
              </button>
            )}
          </form>
        </section>
      </div>
    </div>
  );
}
