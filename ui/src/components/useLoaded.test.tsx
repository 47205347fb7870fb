// The shared load-on-show hook: loads when the screen becomes active, keeps the last good
// value when a reload fails, and clears the error after a good reload.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Loaded, useLoaded } from "./useLoaded";

let root: HTMLDivElement;
let seen: Loaded<string[]>;
const flush = async () => {
  for (let i = 0; i < 5; i++) await act(async () => await Promise.resolve());
};

function Probe(props: { fetch: () => Promise<string[]>; active: boolean }) {
  seen = useLoaded(props.fetch, props.active, [] as string[]);
  return null;
}

beforeEach(() => {
  root = document.createElement("div");
  document.body.appendChild(root);
});
afterEach(() => {
  render(null, root);
  root.remove();
});

describe("useLoaded", () => {
  it("loads only once the screen is active", async () => {
    const fetch = vi.fn().mockResolvedValue(["a"]);
    await act(() => render(<Probe fetch={fetch} active={false} />, root));
    await flush();
    expect(fetch).not.toHaveBeenCalled();
    expect(seen.data).toBeNull();
    await act(() => render(<Probe fetch={fetch} active={true} />, root));
    await flush();
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(seen.data).toEqual(["a"]);
    expect(seen.error).toBeNull();
  });

  it("keeps the last good value when a reload fails, then clears the error", async () => {
    const fetch = vi
      .fn()
      .mockResolvedValueOnce(["a", "b"])
      .mockRejectedValueOnce({ code: "store", message: "database is locked", details: null })
      .mockResolvedValueOnce(["c"]);
    await act(() => render(<Probe fetch={fetch} active={true} />, root));
    await flush();
    await act(() => seen.reload());
    await flush();
    expect(seen.data).toEqual(["a", "b"]);
    expect(seen.error?.message).toBe("database is locked");
    await act(() => seen.reload());
    await flush();
    expect(seen.data).toEqual(["c"]);
    expect(seen.error).toBeNull();
  });

  it("shows the empty value beside the error when the first load fails", async () => {
    const fetch = vi.fn().mockRejectedValue(new Error("no workspace"));
    await act(() => render(<Probe fetch={fetch} active={true} />, root));
    await flush();
    expect(seen.data).toEqual([]);
    expect(seen.error?.message).toContain("no workspace");
  });
});
