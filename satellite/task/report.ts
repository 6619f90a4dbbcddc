/**
 * What a task says while it runs, numbered, as JSON lines on stdout (the
 * local launcher reads them; in a pod they are the log the launcher tails)
 * and, when the runner has NATS, on `bakerst.tasks.<id>.progress|result` too.
 * The core keeps each `seq` once, whichever way it came first.
 *
 * Output is batched: the first chunk goes at once (a task's first line is
 * what its owner waits to see), later ones every few milliseconds or 8 KiB,
 * and past the output cap only a count is kept.
 */
import { MAX_PROGRESS_CHARS, type ProgressKind, type TaskProgress, type TaskResult, type TaskRunSpec } from "../../core/protocol/index.ts";

export interface ReportSink {
  /** One JSON line (without the newline). */
  line(text: string): void;
  /** The same report on NATS; failures are the sink's own business (the line is the fallback). */
  publish?(report: TaskProgress | TaskResult): void;
  /** Waits until what was written and published has left this process. */
  flush?(): Promise<void>;
}

const FLUSH_MS = 10;
const BATCH_CHARS = 8 * 1024;

type Stream = "stdout" | "stderr";

export class Reporter {
  private seq = 0;
  private pending: { kind: "log" | "thinking"; stream?: Stream; text: string } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sentOutput = false;
  private outputBytes = 0;
  private dropped = 0;
  private decoders: Record<Stream, TextDecoder> = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  constructor(
    private spec: Pick<TaskRunSpec, "id" | "reportToken">,
    private sink: ReportSink,
    private outputMaxBytes: number,
    private now: () => number = Date.now,
  ) {}

  private emit(report: TaskProgress | TaskResult): void {
    this.sink.line(JSON.stringify(report));
    this.sink.publish?.(report);
  }

  private base() {
    return { v: 1 as const, taskId: this.spec.id, token: this.spec.reportToken, seq: ++this.seq, at: this.now() };
  }

  /** A milestone or a tool call: sent at once, after any output before it. */
  event(kind: Exclude<ProgressKind, "log" | "thinking">, text: string, extra: { name?: string; ok?: boolean } = {}): void {
    this.flushPending();
    for (const piece of pieces(text)) this.emit({ ...this.base(), type: "progress", kind, text: piece, ...extra });
  }

  /** Raw output of the script; decoded as UTF-8 across chunk boundaries. */
  output(stream: Stream, chunk: Uint8Array): void {
    if (this.outputBytes >= this.outputMaxBytes) {
      this.dropped += chunk.byteLength;
      return;
    }
    const room = this.outputMaxBytes - this.outputBytes;
    const kept = chunk.byteLength > room ? chunk.subarray(0, room) : chunk;
    this.outputBytes += kept.byteLength;
    this.dropped += chunk.byteLength - kept.byteLength;
    this.text("log", this.decoders[stream].decode(kept, { stream: true }), stream);
    if (this.outputBytes >= this.outputMaxBytes) this.text("log", `\n[output past ${this.outputMaxBytes} bytes is not kept]\n`, "stderr");
  }

  /** The model's words as they stream, batched like output. */
  thinking(delta: string): void {
    this.text("thinking", delta);
  }

  private text(kind: "log" | "thinking", text: string, stream?: Stream): void {
    if (!text) return;
    if (this.pending && (this.pending.kind !== kind || this.pending.stream !== stream)) this.flushPending();
    if (this.pending) this.pending.text += text;
    else this.pending = { kind, text, ...(stream ? { stream } : {}) };
    if (!this.sentOutput || this.pending.text.length >= BATCH_CHARS) this.flushPending();
    else this.timer ??= setTimeout(() => this.flushPending(), FLUSH_MS);
  }

  flushPending(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const p = this.pending;
    this.pending = undefined;
    if (!p) return;
    this.sentOutput = true;
    for (const piece of pieces(p.text)) this.emit({ ...this.base(), type: "progress", kind: p.kind, text: piece, ...(p.stream ? { stream: p.stream } : {}) });
  }

  /** Bytes of output that went past the cap. */
  get droppedBytes(): number {
    return this.dropped;
  }

  /** The last report: everything before it goes first, and it is flushed before this resolves. */
  async result(r: Pick<TaskResult, "status" | "exitCode" | "answer" | "error" | "usage">): Promise<void> {
    for (const s of ["stdout", "stderr"] as const) this.text("log", this.decoders[s].decode(), s);
    this.flushPending();
    const { answer, error, usage, ...rest } = r;
    this.emit({
      ...this.base(),
      type: "result",
      ...rest,
      ...(answer !== undefined ? { answer: answer.slice(0, MAX_PROGRESS_CHARS * 4) } : {}),
      ...(error ? { error: { code: error.code, message: error.message.slice(0, 8000) } } : {}),
      ...(usage ? { usage } : {}),
    });
    await this.sink.flush?.();
  }
}

/** Splits text into pieces a progress message may carry. */
function pieces(text: string): string[] {
  if (text.length <= MAX_PROGRESS_CHARS) return [text];
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    let end = Math.min(text.length, i + MAX_PROGRESS_CHARS);
    // Never between the two halves of a surrogate pair.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    out.push(text.slice(i, end));
    i = end;
  }
  return out;
}
