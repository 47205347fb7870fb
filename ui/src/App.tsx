// The shell: header with the workspace, left navigation, and the screens.
// Screens stay mounted once visited so a running job or chat keeps its progress.
import { useEffect, useState } from "preact/hooks";
import { api, toAppError } from "./api";
import type { UiError, WorkspaceStatus } from "./api";
import { FirstRunBanner } from "./components/FirstRun";
import { ChatScreen } from "./screens/Chat";
import { ModelsScreen } from "./screens/Models";
import { ReviewScreen } from "./screens/Review";
import { RoundsScreen } from "./screens/Rounds";
import { StudiesScreen } from "./screens/Studies";
import { SyntheticScreen } from "./screens/Synthetic";

export type ScreenId = "review" | "studies" | "synthetic" | "rounds" | "models" | "chat";
const NAV: { id: ScreenId; label: string }[] = [
  { id: "review", label: "Review" },
  { id: "studies", label: "Studies" },
  { id: "synthetic", label: "Synthetic" },
  { id: "rounds", label: "Rounds" },
  { id: "models", label: "Models" },
  { id: "chat", label: "Chat" },
];

export function App() {
  const [screen, setScreen] = useState<ScreenId>("review");
  const [visited, setVisited] = useState<Set<ScreenId>>(() => new Set(["review"]));
  const [ws, setWs] = useState<WorkspaceStatus | null>(null);
  const [wsError, setWsError] = useState<UiError | null>(null);

  const loadWorkspace = () =>
    api
      .workspaceStatus()
      .then((w) => {
        setWs(w);
        setWsError(null);
      })
      .catch((e) => setWsError(toAppError(e)));

  useEffect(() => {
    void loadWorkspace();
  }, []);

  const go = (id: ScreenId) => {
    setScreen(id);
    setVisited((v) => (v.has(id) ? v : new Set([...v, id])));
    if (id === "studies" || id === "models") void loadWorkspace();
  };

  return (
    <div class="app">
      <header class="app-header">
        <span class="brand">LLM4Sweat</span>
        <span class="workspace" data-testid="workspace-path" title={ws?.db_path}>
          {ws ? (
            <>
              Workspace <code>{ws.db_path}</code>
              <span class="muted">
                {" "}
                · {ws.pack} · {ws.items} items
              </span>
            </>
          ) : wsError ? (
            <span class="header-error" data-testid="workspace-error" role="alert">
              Workspace unavailable: {wsError.message}
            </span>
          ) : (
            <span class="muted">Opening workspace…</span>
          )}
        </span>
      </header>
      <nav class="app-nav" aria-label="Main">
        {NAV.map((n) => (
          <button
            type="button"
            key={n.id}
            class={`nav-item${screen === n.id ? " current" : ""}`}
            aria-current={screen === n.id ? "page" : undefined}
            data-testid={`nav-${n.id}`}
            onClick={() => go(n.id)}
          >
            {n.label}
          </button>
        ))}
      </nav>
      <main class="app-main">
        {ws && <FirstRunBanner manifest={ws.manifest} onFetched={() => void loadWorkspace()} />}
        {visited.has("review") && (
          <div hidden={screen !== "review"}>
            <ReviewScreen active={screen === "review"} />
          </div>
        )}
        {visited.has("studies") && (
          <div hidden={screen !== "studies"}>
            <StudiesScreen active={screen === "studies"} categories={ws?.categories ?? []} />
          </div>
        )}
        {visited.has("synthetic") && (
          <div hidden={screen !== "synthetic"}>
            <SyntheticScreen active={screen === "synthetic"} />
          </div>
        )}
        {visited.has("rounds") && (
          <div hidden={screen !== "rounds"}>
            <RoundsScreen active={screen === "rounds"} />
          </div>
        )}
        {visited.has("models") && (
          <div hidden={screen !== "models"}>
            <ModelsScreen active={screen === "models"} manifest={ws?.manifest ?? []} onChanged={() => void loadWorkspace()} />
          </div>
        )}
        {visited.has("chat") && (
          <div hidden={screen !== "chat"}>
            <ChatScreen active={screen === "chat"} />
          </div>
        )}
      </main>
    </div>
  );
}
