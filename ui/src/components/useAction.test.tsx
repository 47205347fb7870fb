// The shared busy/error hook of backend actions.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Action, useAction } from "./useAction";

let root: HTMLDivElement;
let seen: Action;
function Probe() {
  seen = useAction();
  return null;
}

beforeEach(async () => {
  root = document.createElement("div");
  document.body.appendChild(root);
  await act(() => render(<Probe />, root));
});
afterEach(() => {
  render(null, root);
  root.remove();
});

describe("useAction", () => {
  it("is busy with the action's name while it runs and returns its result", async () => {
    let finish: (v: number) => void = () => undefined;
    let result: Promise<number | undefined> = Promise.resolve(undefined);
    await act(() => {
      result = seen.run("save", () => new Promise<number>((res) => (finish = res)));
    });
    expect(seen.busy).toBe("save");
    await act(async () => {
      finish(7);
      await result;
    });
    expect(await result).toBe(7);
    expect(seen.busy).toBeNull();
    expect(seen.error).toBeNull();
  });

  it("records a failure as the error, and the next action clears it", async () => {
    let out: unknown = "unset";
    await act(async () => {
      out = await seen.run("close", () => Promise.reject({ code: "conflict", message: "study 3 is not open", details: null }));
    });
    expect(out).toBeUndefined();
    expect(seen.busy).toBeNull();
    expect(seen.error).toEqual({ code: "conflict", message: "study 3 is not open", details: null });
    await act(async () => {
      await seen.run("reopen", () => Promise.resolve(1));
    });
    expect(seen.error).toBeNull();
  });
});
