// Registered models and their engine settings, adding a GGUF file or a remote endpoint,
// and fetching the models listed in the manifest.
import { useEffect, useState } from "preact/hooks";
import { api, toAppError } from "../api";
import type { UiError, ManifestEntry, ModelRole, ModelView } from "../api";
import { Busy, Chip, ErrorBox, ErrorRow, Field, ProgressBar } from "../components/common";
import { useAction } from "../components/useAction";
import { useJob } from "../components/useJob";
import { useLoaded } from "../components/useLoaded";
import { formatBytes, jobStart } from "../jobs";

export const ROLES: readonly ModelRole[] = ["candidate", "baseline", "generator", "base"];

const STATE_TEXT: Record<string, string> = {
  intact: "intact",
  modified: "modified on disk",
  missing: "file missing",
  remote: "remote",
};

export function ModelsScreen(props: { active: boolean; manifest: ManifestEntry[]; onChanged: () => void }) {
  const { data: models, setData: setModels, error, setError, reload: load } = useLoaded(() => api.listModels(), props.active, [] as ModelView[]);

  const upsert = (m: ModelView) => {
    setModels((list) => {
      const l = list ?? [];
      return l.some((x) => x.name === m.name) ? l.map((x) => (x.name === m.name ? m : x)) : [...l, m];
    });
    props.onChanged();
  };

  return (
    <div class="screen" data-testid="screen-models">
      <div class="screen-head">
        <h1>Models</h1>
        <button type="button" data-testid="models-refresh" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <ErrorBox error={error} testid="models-error" onDismiss={() => setError(null)} />
      {models === null && !error && <Busy>Loading models…</Busy>}
      {models && models.length === 0 && (
        <p class="empty" data-testid="models-empty">
          No models registered yet. Fetch one from the list below or add a GGUF file.
        </p>
      )}
      {models && models.length > 0 && (
        <div class="table-wrap">
          <table class="table models-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Role</th>
                <th>Details</th>
                <th>State</th>
                <th title="CPU threads (0 = all cores)">Threads</th>
                <th title="Layers offloaded to the GPU">GPU layers</th>
                <th title="Sequences decoded in parallel">Parallel</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {models.map((m) => (
                <ModelRow key={m.name} model={m} onSaved={upsert} />
              ))}
            </tbody>
          </table>
        </div>
      )}

      <div class="two-col">
        <AddGguf onAdded={upsert} />
        <AddRemote onAdded={upsert} />
      </div>

      <Manifest entries={props.manifest} onFetched={upsert} />
    </div>
  );
}

function ModelRow(props: { model: ModelView; onSaved: (m: ModelView) => void }) {
  const m = props.model;
  const [threads, setThreads] = useState(String(m.threads));
  const [gpu, setGpu] = useState(String(m.gpu_layers));
  const [par, setPar] = useState(String(m.n_parallel));
  const { busy, error, setError, run } = useAction();
  const [saved, setSaved] = useState(false);

  const changed = threads !== String(m.threads) || gpu !== String(m.gpu_layers) || par !== String(m.n_parallel);
  const nums = [threads, gpu, par].map(Number);
  const valid = nums.every((n) => Number.isInteger(n) && n >= 0) && nums[2]! >= 1;

  const save = async () => {
    setSaved(false);
    const updated = await run("save", () => api.setModelSettings(m.name, nums[0]!, nums[1]!, nums[2]!));
    if (!updated) return;
    props.onSaved(updated);
    setThreads(String(updated.threads));
    setGpu(String(updated.gpu_layers));
    setPar(String(updated.n_parallel));
    setSaved(true);
  };

  const details = [
    m.kind,
    m.quantization,
    m.parameter_count ? `${(m.parameter_count / 1e9).toFixed(2)} B params` : null,
    m.context_length ? `ctx ${m.context_length}` : null,
    m.kind === "local" ? (m.has_chat_template ? "chat template ✓" : "no chat template") : null,
  ].filter(Boolean);
  const local = m.kind === "local";

  return (
    <>
      <tr data-testid="model-row" data-model-name={m.name}>
        <td>
          <strong>{m.name}</strong>
          <div class="muted small path" title={m.location}>
            {m.location}
          </div>
          {m.load_error ? (
            <div class="load-error small" role="status" data-testid="model-load-error" title={m.load_error}>
              Failed to load: {m.load_error}
            </div>
          ) : null}
        </td>
        <td>{m.role}</td>
        <td class="small">{details.join(" · ")}</td>
        <td>
          {/* A file that is intact but did not load says so, as `models list` does. */}
          <Chip kind={m.state === "intact" && m.load_error ? "missing" : m.state} testid="model-state">
            {m.state === "intact" && m.load_error ? "load fails" : (STATE_TEXT[m.state] ?? m.state)}
          </Chip>
        </td>
        <td>
          {local ? (
            <input class="num" type="number" min={0} aria-label={`${m.name} threads`} data-testid="model-threads" value={threads} onInput={(e) => setThreads(e.currentTarget.value)} />
          ) : (
            <span class="muted" title="Set by the remote server">—</span>
          )}
        </td>
        <td>
          {local ? (
            <input class="num" type="number" min={0} aria-label={`${m.name} GPU layers`} data-testid="model-gpu-layers" value={gpu} onInput={(e) => setGpu(e.currentTarget.value)} />
          ) : (
            <span class="muted" title="Set by the remote server">—</span>
          )}
        </td>
        <td>
          {local ? (
            <input class="num" type="number" min={1} max={16} aria-label={`${m.name} parallel sequences`} data-testid="model-parallel" value={par} onInput={(e) => setPar(e.currentTarget.value)} />
          ) : (
            <span class="muted" title="Set by the remote server">—</span>
          )}
        </td>
        <td>
          {local && (
            <button type="button" data-testid="model-save" disabled={!changed || !valid || busy !== null} onClick={() => void save()}>
              {busy ? "Saving…" : saved && !changed ? "Saved ✓" : "Save"}
            </button>
          )}
        </td>
      </tr>
      <ErrorRow error={error} colSpan={8} testid="model-error" onDismiss={() => setError(null)} />
    </>
  );
}

function AddGguf(props: { onAdded: (m: ModelView) => void }) {
  const [path, setPath] = useState("");
  const [name, setName] = useState("");
  const [role, setRole] = useState<ModelRole>("baseline");
  const { busy, error, run } = useAction();
  const [done, setDone] = useState<string | null>(null);

  const add = async (e: Event) => {
    e.preventDefault();
    setDone(null);
    const m = await run("add", () => api.addModelFile(path.trim(), name.trim() || null, role));
    if (!m) return;
    props.onAdded(m);
    setDone(`Added ${m.name}.`);
    setPath("");
    setName("");
  };

  return (
    <form class="card" onSubmit={add}>
      <h2>Add a GGUF file</h2>
      <Field label="Path to the .gguf file">
        <input data-testid="add-gguf-path" value={path} spellcheck={false} placeholder="/path/to/model.gguf" onInput={(e) => setPath(e.currentTarget.value)} />
      </Field>
      <Field label="Name (optional)" hint="Defaults to the file name.">
        <input data-testid="add-gguf-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      <RoleSelect testid="add-gguf-role" value={role} onChange={setRole} />
      <ErrorBox error={error} testid="add-gguf-error" />
      {done && <p class="notice success" data-testid="add-gguf-result">{done}</p>}
      <button type="submit" class="primary" data-testid="add-gguf" disabled={busy !== null || !path.trim()}>
        {busy ? "Reading the file header…" : "Add model"}
      </button>
    </form>
  );
}

function AddRemote(props: { onAdded: (m: ModelView) => void }) {
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [model, setModel] = useState("");
  const [keyEnv, setKeyEnv] = useState("");
  const [role, setRole] = useState<ModelRole>("baseline");
  const { busy, error, run } = useAction();
  const [done, setDone] = useState<string | null>(null);

  const add = async (e: Event) => {
    e.preventDefault();
    setDone(null);
    const m = await run("add", () => api.addRemoteModel(name.trim(), url.trim(), model.trim(), keyEnv.trim() || null, role));
    if (!m) return;
    props.onAdded(m);
    setDone(`Added ${m.name}.`);
  };

  return (
    <form class="card" onSubmit={add}>
      <h2>Add a remote endpoint</h2>
      <p class="muted small">Any OpenAI-compatible chat-completions server (llama.cpp server, vLLM, Ollama, a hosted API).</p>
      <Field label="Name">
        <input data-testid="remote-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </Field>
      <Field label="Base URL">
        <input data-testid="remote-url" value={url} spellcheck={false} placeholder="http://127.0.0.1:8080/v1" onInput={(e) => setUrl(e.currentTarget.value)} />
      </Field>
      <Field label="Model name at the endpoint">
        <input data-testid="remote-model" value={model} spellcheck={false} onInput={(e) => setModel(e.currentTarget.value)} />
      </Field>
      <Field
        label="API key environment variable (optional)"
        hint="Enter the NAME of an environment variable, e.g. OPENAI_API_KEY. The key itself is never stored; it is read from that variable when a request is made."
      >
        <input data-testid="remote-key-env" value={keyEnv} spellcheck={false} autocomplete="off" placeholder="OPENAI_API_KEY" onInput={(e) => setKeyEnv(e.currentTarget.value)} />
      </Field>
      <RoleSelect testid="remote-role" value={role} onChange={setRole} />
      <ErrorBox error={error} testid="add-remote-error" />
      {done && <p class="notice success" data-testid="add-remote-result">{done}</p>}
      <button type="submit" class="primary" data-testid="add-remote" disabled={busy !== null || !name.trim() || !url.trim() || !model.trim()}>
        {busy ? "Adding…" : "Add endpoint"}
      </button>
    </form>
  );
}

function RoleSelect(props: { testid: string; value: ModelRole; onChange: (v: ModelRole) => void }) {
  return (
    <Field label="Role in studies">
      <select data-testid={props.testid} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value as ModelRole)}>
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </select>
    </Field>
  );
}

function Manifest(props: { entries: ManifestEntry[]; onFetched: (m: ModelView) => void }) {
  if (props.entries.length === 0) return null;
  return (
    <section class="card">
      <h2>Listed models</h2>
      <p class="muted small">
        Models named in the manifest. Fetching downloads the file and checks its SHA-256 before registering it.
      </p>
      <div class="table-wrap">
        <table class="table">
          <thead>
            <tr>
              <th>Model</th>
              <th>Role</th>
              <th>Size</th>
              <th>Licence</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {props.entries.map((e) => (
              <ManifestRow key={e.name} entry={e} onFetched={props.onFetched} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ManifestRow(props: { entry: ManifestEntry; onFetched: (m: ModelView) => void }) {
  const e = props.entry;
  const { job, run, cancel: cancelJob } = useJob();
  const [fetched, setFetched] = useState(e.fetched);
  const [error, setError] = useState<UiError | null>(null);

  useEffect(() => setFetched(e.fetched), [e.fetched]);

  const start = async () => {
    setError(null);
    try {
      props.onFetched(await run("fetch", e.display, { ...jobStart("Connecting…"), total: e.size || null }, (id, events) => api.fetchModel(id, e.name, events)));
      setFetched(true);
    } catch (err) {
      setError(toAppError(err));
    }
  };

  const cancel = async () => {
    try {
      await cancelJob();
    } catch (err) {
      setError(toAppError(err));
    }
  };

  const p = job?.progress;
  return (
    <>
      <tr data-testid="manifest-row" data-manifest-name={e.name}>
        <td>
          <strong>{e.display}</strong> {e.is_default && <Chip kind="default">default</Chip>}
          <div class="muted small">{e.name}</div>
        </td>
        <td>{e.role}</td>
        <td>{formatBytes(e.size ?? 0)}</td>
        <td class="small">{e.license}</td>
        <td class="manifest-action">
          {p ? (
            <div class="fetch-job">
              <ProgressBar
                testid="manifest-progress"
                label={`Fetching ${e.display}`}
                value={p.done}
                max={p.total}
                text={`${p.label} — ${formatBytes(p.done)}${p.total ? ` of ${formatBytes(p.total)}` : ""}`}
              />
              <button type="button" data-testid="manifest-cancel" onClick={() => void cancel()}>
                Cancel
              </button>
            </div>
          ) : fetched ? (
            <Chip kind="intact" testid="manifest-fetched">
              fetched
            </Chip>
          ) : (
            <button type="button" data-testid="manifest-fetch" onClick={() => void start()}>
              Fetch
            </button>
          )}
        </td>
      </tr>
      <ErrorRow error={error} colSpan={5} testid="manifest-error" onDismiss={() => setError(null)} />
    </>
  );
}
