// The shared long-job hook, with the IPC layer replaced: progress follows the job's
// events, cancel goes to the backend by id, and the job clears however it ends.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ProgressEvent } from "../bindings";

const fake = vi.hoisted(() => ({ cancelJob: vi.fn(), listeners: [] as ((e: unknown) => void)[] }));
vi.mock("../api", async (importOriginal) => {
  const real = await importOriginal<typeof import("../api")>();
  return {
    ...real,
    api: { cancelJob: fake.cancelJob },
    channel: (onMessage: (e: unknown) => void) => {
      fake.listeners.push(onMessage);
      return { onmessage: onMessage };
    },
  };
});

import { jobStart } from "../jobs";
import { type Job, useJob } from "./useJob";

let root: HTMLDivElement;
let seen: Job;
function Probe() {
  seen = useJob();
  return null;
}

beforeEach(async () => {
  fake.cancelJob.mockReset().mockResolvedValue(true);
  fake.listeners.length = 0;
  root = document.createElement("div");
  document.body.appendChild(root);
  await act(() => render(<Probe />, root));
});
afterEach(() => {
  render(null, root);
  root.remove();
});

describe("useJob", () => {
  it("folds the job's events into its progress and clears it when the call resolves", async () => {
    let finish: (v: string) => void = () => undefined;
    let jobId = "";
    let result: Promise<string> = Promise.resolve("");
    await act(() => {
      result = seen.run("fetch", "SmolLM2", jobStart("Connecting…"), (id) => {
        jobId = id;
        return new Promise<string>((res) => (finish = res));
      });
    });
    expect(jobId).toMatch(/^fetch-/);
    expect(seen.job).toMatchObject({ id: jobId, name: "SmolLM2", progress: { label: "Connecting…", done: 0 } });
    const events: ProgressEvent[] = [
      { kind: "started", label: "Downloading", total: 100 },
      { kind: "advanced", done: 40, total: null, message: null },
    ];
    await act(() => events.forEach((e) => fake.listeners[0]!(e)));
    expect(seen.job?.progress).toMatchObject({ label: "Downloading", done: 40, total: 100 });

    await act(() => seen.cancel("Cancelling…"));
    expect(fake.cancelJob).toHaveBeenCalledWith(jobId);
    expect(seen.job?.progress.message).toBe("Cancelling…");

    await act(async () => {
      finish("done");
      await result;
    });
    expect(await result).toBe("done");
    expect(seen.job).toBeNull();
  });

  it("rejects as the call does and still clears the job; cancel without a job does nothing", async () => {
    let out: Promise<unknown> = Promise.resolve();
    await act(async () => {
      out = seen.run("generate", "Pilot", jobStart(), () => Promise.reject(new Error("model file missing")));
      await out.catch(() => undefined);
    });
    await expect(out).rejects.toThrow("model file missing");
    expect(seen.job).toBeNull();
    await act(() => seen.cancel());
    expect(fake.cancelJob).not.toHaveBeenCalled();
  });
});
