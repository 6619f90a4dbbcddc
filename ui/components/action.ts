import { type Accessor, createSignal } from "solid-js";

export interface Action {
  /** True while an action runs (buttons disable on it). */
  busy: Accessor<boolean>;
  /** What the last action failed with, until the next one starts. */
  error: Accessor<unknown>;
  /** Runs `fn`, clearing the last error first; a failure is kept in `error` instead of thrown. */
  run(fn: () => Promise<unknown>): Promise<void>;
}

/** The busy flag and error every button or form of the console keeps around its request. */
export function createAction(): Action {
  const [busy, setBusy] = createSignal(false);
  const [error, setError] = createSignal<unknown>();
  return {
    busy,
    error,
    async run(fn) {
      setBusy(true);
      setError(undefined);
      try {
        await fn();
      } catch (err) {
        setError(err);
      } finally {
        setBusy(false);
      }
    },
  };
}
