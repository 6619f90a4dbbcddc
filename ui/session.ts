import { createSignal } from "solid-js";

/** Whether this browser holds a session cookie the server accepts; the cookie itself is httpOnly and never visible here. */
export type SessionState = "checking" | "in" | "out";
const [session, setSession] = createSignal<SessionState>("checking");

export { session, setSession };
