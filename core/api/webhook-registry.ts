/** A caller from outside that proves itself with its own secret (a chat platform, a forge), not the API token. */
export interface WebhookHandler {
  /** Checks the caller from the request's headers alone, before the body is read; compare secrets in constant time. */
  verify(request: Request): boolean;
  /** Largest body read once `verify` passed. */
  maxBodyBytes: number;
  /** Handles the parsed body; a 2xx tells the caller it is done with. */
  handle(body: unknown): Promise<unknown> | unknown;
}

/** Webhooks by name: `POST /api/webhooks/<name>`, registered by the areas that take them. */
export class Webhooks {
  private handlers = new Map<string, WebhookHandler>();

  register(name: string, handler: WebhookHandler): () => void {
    if (!WEBHOOK_NAME.test(name)) throw new Error(`webhook name ${JSON.stringify(name)}: lower-case letters, digits and dashes`);
    this.handlers.set(name, handler);
    return () => this.handlers.get(name) === handler && this.handlers.delete(name);
  }

  get(name: string): WebhookHandler | undefined {
    return this.handlers.get(name);
  }
}

/** A webhook's name: what `POST /api/webhooks/<name>` is open for, spelled exactly so. */
export const WEBHOOK_NAME = /^[a-z][a-z0-9-]{0,31}$/;
