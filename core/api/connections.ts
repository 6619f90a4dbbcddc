/**
 * Keep-alive connections, handed over without a failed request when this
 * server stops listening (an upgrade hands the port to a new core, or a
 * shutdown). Closing an idle keep-alive connection races the client, which
 * may be sending its next request on it that very moment and gets a reset.
 * So, once closing: every response says `Connection: close`, and the
 * listener is closed only when no connection that was promised keep-alive
 * can still carry a request (each was used again and told to close, or its
 * client has left it idle for a while).
 */

interface Conn {
  inflight: number;
  /** Its last response let the client keep it open. */
  keepAlive: boolean;
  idleSince: number;
}

/** Past Bun's idle timeout (60 s) a connection is closed by the server anyway. */
const FORGET_AFTER_MS = 65_000;

export class Connections {
  private conns = new Map<string, Conn>();
  private closing = false;
  private swept = Date.now();

  /** A request arrived on the connection `key` (the client's address and port). */
  begin(key: string): void {
    let c = this.conns.get(key);
    if (!c) this.conns.set(key, (c = { inflight: 0, keepAlive: true, idleSince: 0 }));
    c.inflight++;
    if (Date.now() - this.swept > FORGET_AFTER_MS) this.sweep();
  }

  /** The response for a request on `key`; a stream counts as in flight until it ends. */
  end(key: string, response: Response): Response {
    const c = this.conns.get(key);
    if (!c) return response;
    let res = response;
    if (this.closing) {
      try {
        res.headers.set("connection", "close");
      } catch {
        // A response with immutable headers (a static file): copied.
        res = new Response(res.body, { status: res.status, statusText: res.statusText, headers: new Headers(res.headers) });
        res.headers.set("connection", "close");
      }
    }
    c.keepAlive = !this.closing && res.headers.get("connection")?.toLowerCase() !== "close";
    const body = res.body;
    if (!body || !res.headers.get("content-type")?.startsWith("text/event-stream")) {
      this.idle(key, c);
      return res;
    }
    const reader = body.getReader();
    let finished = false;
    const finish = () => {
      if (!finished) (finished = true), this.idle(key, c);
    };
    const wrapped = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { value, done } = await reader.read();
          if (done) {
            finish();
            controller.close();
          } else controller.enqueue(value);
        } catch (err) {
          finish();
          controller.error(err);
        }
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    });
    return new Response(wrapped, { status: res.status, statusText: res.statusText, headers: res.headers });
  }

  private idle(key: string, c: Conn): void {
    c.inflight--;
    c.idleSince = Date.now();
    // Told to close: it is gone after this response.
    if (c.inflight <= 0 && !c.keepAlive) this.conns.delete(key);
  }

  private sweep(): void {
    const now = (this.swept = Date.now());
    for (const [key, c] of this.conns) if (c.inflight <= 0 && now - c.idleSince > FORGET_AFTER_MS) this.conns.delete(key);
  }

  /** Connections a client may still send a request on after being told keep-alive. */
  private promised(idleMs: number): number {
    const now = Date.now();
    let n = 0;
    for (const c of this.conns.values()) if (c.keepAlive && (c.inflight > 0 || now - c.idleSince < idleMs)) n++;
    return n;
  }

  /**
   * From now on every response closes its connection; resolves once every
   * connection promised keep-alive was used again (and so told to close) or
   * has been idle for `idleMs`, or at `limitMs`.
   */
  async closeAll(idleMs = 1_000, limitMs = 30_000): Promise<void> {
    this.closing = true;
    const until = Date.now() + limitMs;
    // Looked at every 20 ms: a connection changes state only when a request or a stream ends.
    while (this.promised(idleMs) > 0 && Date.now() < until) await Bun.sleep(20);
  }

  /** Listening again (an upgrade rolled back): keep-alive as usual. */
  reopen(): void {
    this.closing = false;
  }
}
