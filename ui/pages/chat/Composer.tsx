import { createSignal, type JSX, Show } from "solid-js";

/** Enter sends, Shift+Enter starts a new line; the box grows with its text up to a limit. */
export function Composer(props: { busy: boolean; onSend: (text: string) => void; onStop: () => void }): JSX.Element {
  const [text, setText] = createSignal("");
  let area!: HTMLTextAreaElement;
  const fit = () => {
    area.style.height = "auto";
    area.style.height = `${Math.min(area.scrollHeight, 240)}px`;
  };
  const send = () => {
    const t = text().trim();
    if (!t || props.busy) return;
    props.onSend(t);
    setText("");
    area.value = "";
    fit();
  };
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label for="message" class="sr-only">
        Message
      </label>
      <textarea
        id="message"
        ref={area}
        rows={1}
        placeholder="Ask Baker Street…"
        value={text()}
        onInput={(e) => {
          setText(e.currentTarget.value);
          fit();
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }}
      />
      <Show
        when={props.busy}
        fallback={
          <button class="btn primary" type="submit" disabled={!text().trim()} aria-label="Send">
            Send
          </button>
        }
      >
        <button class="btn danger" type="button" onClick={() => props.onStop()} aria-label="Stop">
          Stop
        </button>
      </Show>
    </form>
  );
}
