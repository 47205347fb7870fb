// Component test of the Synthetic screen in jsdom, with the IPC layer replaced by spies:
// the keys reach the right decision, refusals from the core are shown and change nothing.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AugmentOverview, SyntheticItem, SyntheticQueue } from "../bindings";
import { CommandError } from "../api";

const calls = vi.hoisted(() => ({
  syntheticQueue: vi.fn(),
  augmentOverview: vi.fn(),
  reviewSynthetic: vi.fn(),
  listRaters: vi.fn(),
}));
vi.mock("../api", async (importOriginal) => {
  const real = await importOriginal<typeof import("../api")>();
  return { ...real, api: calls };
});

import { SyntheticScreen } from "./Synthetic";

const item = (n: number): SyntheticItem => ({
  external_id: `syn-1-${n}`,
  kind: n % 2 === 0 ? "question" : "vignette",
  category: "treatment",
  text: `A patient with palmar sweating asks question number ${n} about treatment.`,
  answer: `Reference answer ${n}: start with an aluminium chloride antiperspirant at night.`,
  strata: { site: "palmar", intent: "treatment_options" },
  facts: [{ id: `trt-0${n}`, topic: "treatment", statement: `Statement of fact ${n}.` }],
  review_status: "pending",
  reviewed_by: null,
  review_note: null,
  run_id: 1,
  provenance: "",
  revisions: [],
});
const queue = (): SyntheticQueue => ({ items: [item(0), item(1), item(2)], counts: { pending: 3, approved: 0, rejected: 0 } });
const overview: AugmentOverview = {
  runs: [
    {
      id: 1,
      generator: "writer",
      status: "completed",
      requested: 3,
      accepted: 3,
      rejected: 1,
      prompt_tokens: 2700,
      completion_tokens: 800,
      cost_usd: 0.0012,
      elapsed_s: 4,
      created_at: "2025-01-01T00:00:00Z",
      finished_at: "2025-01-01T00:00:04Z",
      rejections: [{ reason: "invalid_json", count: 1 }],
    },
  ],
  counts: { pending: 3, approved: 0, rejected: 0 },
  balance: [{ axis: "site", counts: [["palmar", 3], ["plantar", 0]], ratio: null }],
};

let root: HTMLDivElement;
const flush = async () => {
  for (let i = 0; i < 5; i++) await act(async () => await Promise.resolve());
};
const q = (testid: string) => root.querySelector<HTMLElement>(`[data-testid="${testid}"]`);
const press = async (key: string, init: KeyboardEventInit = {}) => {
  const target = document.activeElement ?? document.body;
  await act(() => {
    target.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true, ...init }));
  });
  await flush();
};
const type = async (testid: string, value: string) => {
  const el = q(testid) as HTMLInputElement | HTMLTextAreaElement;
  await act(() => {
    el.value = value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
  });
  await flush();
};

async function mount() {
  await act(() => {
    render(<SyntheticScreen active />, root);
  });
  await flush();
}

beforeEach(() => {
  localStorage.clear();
  root = document.createElement("div");
  document.body.appendChild(root);
  for (const f of Object.values(calls)) f.mockReset();
  calls.syntheticQueue.mockImplementation(async () => queue());
  calls.augmentOverview.mockResolvedValue(overview);
  calls.listRaters.mockResolvedValue([]);
});
afterEach(() => {
  render(null, root);
  root.remove();
});

describe("SyntheticScreen", () => {
  it("shows the first pending item with its cited facts, the runs and the balance", async () => {
    await mount();
    expect(calls.syntheticQueue).toHaveBeenCalledWith("pending", 200);
    expect(q("synthetic-item")?.dataset.externalId).toBe("syn-1-0");
    expect(q("synthetic-counts")?.textContent).toBe("3 pending · 0 approved · 0 rejected");
    expect(q("synthetic-fact")?.textContent).toContain("trt-00");
    expect(q("synthetic-fact")?.textContent).toContain("Statement of fact 0.");
    expect(q("augment-run-reasons")?.textContent).toBe("invalid json 1");
    expect(q("augment-balance-ratio")?.textContent).toBe("max/min ∞ (a value has no item)");
  });

  it("asks for the expert's name before deciding, then A approves and shows the next item", async () => {
    await mount();
    await press("a");
    expect(calls.reviewSynthetic).not.toHaveBeenCalled();
    expect(q("synthetic-error")?.textContent).toContain("Type your name first");
    await type("synthetic-expert", "Dr. Ávila");
    await press("Escape");
    expect(document.activeElement).toBe(q("synthetic-item"));
    calls.reviewSynthetic.mockResolvedValue({ status: "approved", counts: { pending: 2, approved: 1, rejected: 0 } });
    await press("a");
    expect(calls.reviewSynthetic).toHaveBeenCalledWith("syn-1-0", { decision: "approve" }, "Dr. Ávila");
    expect(q("synthetic-item")?.dataset.externalId).toBe("syn-1-1");
    expect(q("synthetic-counts")?.textContent).toBe("2 pending · 1 approved · 0 rejected");
    expect(localStorage.getItem("llm4sweat.expertName")).toBe("Dr. Ávila");
  });

  it("decides as the rater profile chosen on the Review screen", async () => {
    localStorage.setItem("llm4sweat.raterId", "7");
    calls.listRaters.mockResolvedValue([{ id: 7, name: "Dr. Profile", specialty: "dermatology" }]);
    await mount();
    expect(q("synthetic-expert-current")?.textContent).toContain("Dr. Profile");
    calls.reviewSynthetic.mockResolvedValue({ status: "approved", counts: { pending: 2, approved: 1, rejected: 0 } });
    await press("A");
    expect(calls.reviewSynthetic).toHaveBeenCalledWith("syn-1-0", { decision: "approve" }, "Dr. Profile");
  });

  it("E edits; a refusal from the core keeps the editor open; Ctrl+Enter saves, Esc cancels", async () => {
    localStorage.setItem("llm4sweat.expertName", "Dr. Edit");
    await mount();
    await press("j");
    expect(q("synthetic-item")?.dataset.externalId).toBe("syn-1-1");
    await press("e");
    expect(document.activeElement).toBe(q("synthetic-edit-text"));
    expect((q("synthetic-edit-text") as HTMLTextAreaElement).value).toBe(item(1).text);
    await press("Enter", { ctrlKey: true });
    expect(calls.reviewSynthetic).not.toHaveBeenCalled();
    expect(q("synthetic-error")?.textContent).toContain("Nothing was changed");

    calls.reviewSynthetic.mockRejectedValueOnce(
      new CommandError({ code: "invalid", message: "the edit is not saved: the text matches evaluation item hh-q-001", details: null }),
    );
    await type("synthetic-edit-text", "Copied evaluation text that is long enough to pass the bounds.");
    await press("Enter", { ctrlKey: true });
    expect(q("synthetic-error")?.textContent).toContain("matches evaluation item hh-q-001");
    expect(q("synthetic-edit-text")).not.toBeNull();

    calls.reviewSynthetic.mockResolvedValueOnce({ status: "approved", counts: { pending: 2, approved: 1, rejected: 0 } });
    await type("synthetic-edit-text", "A better question about palmar sweating at school, asked plainly.");
    await press("Enter", { ctrlKey: true });
    expect(calls.reviewSynthetic).toHaveBeenLastCalledWith(
      "syn-1-1",
      { decision: "edit", text: "A better question about palmar sweating at school, asked plainly.", answer: item(1).answer },
      "Dr. Edit",
    );
    expect(q("synthetic-edit-text")).toBeNull();
    expect(q("synthetic-item")?.dataset.externalId).toBe("syn-1-2");

    await press("e");
    await press("Escape");
    expect(q("synthetic-item")?.dataset.mode).toBe("browse");
    expect(calls.reviewSynthetic).toHaveBeenCalledTimes(2);
  });

  it("R asks for a reason: Enter without one sends nothing, with one it rejects", async () => {
    localStorage.setItem("llm4sweat.expertName", "Dr. Reject");
    await mount();
    await press("r");
    expect(document.activeElement).toBe(q("synthetic-reject-reason"));
    await press("Enter");
    expect(calls.reviewSynthetic).not.toHaveBeenCalled();
    expect(q("synthetic-error")?.textContent).toContain("Say why");
    await type("synthetic-reject-reason", "  contradicts trt-00 ");
    calls.reviewSynthetic.mockResolvedValue({ status: "rejected", counts: { pending: 2, approved: 0, rejected: 1 } });
    await press("Enter");
    expect(calls.reviewSynthetic).toHaveBeenCalledWith("syn-1-0", { decision: "reject", reason: "contradicts trt-00" }, "Dr. Reject");
    expect(q("synthetic-counts")?.textContent).toBe("2 pending · 0 approved · 1 rejected");
    expect(calls.augmentOverview).toHaveBeenCalledTimes(2);
  });
});
