import type { Brain } from "../brain/brain.ts";
import type { ConversationStore } from "../conversations/store.ts";
import type { Models } from "../models/index.ts";
import type { Notification } from "../notifications/service.ts";
import type { Inbound } from "./adapter.ts";
import { chatKey } from "./chat-ref.ts";
import type { ChatRunner } from "./chats.ts";
import { escapeMarkdown } from "./format/render.ts";
import type { Outbox } from "./outbox.ts";
import { type Pairings, showCode } from "./pairing.ts";

/** `/new`, `/status`, `/help` (and Telegram's `/start`), alone, optionally addressed `/help@bot`. */
const COMMAND = /^\/(new|status|help|start)(?:@[A-Za-z0-9_]{1,64})?$/i;

export const HELP = [
  "This is Baker Street, your own agent. Write here to talk to it; the answer streams into this chat.",
  "",
  "/new — start a new conversation (the old one stays in the console)",
  "/status — what the agent is doing in this chat",
  "/help — this message",
].join("\n");

export interface GatewayDeps {
  pairings: Pairings;
  runner: ChatRunner;
  outbox: Outbox;
  brain: Brain;
  conversations: ConversationStore;
  models: Models;
  db: { transaction<T>(fn: () => T): () => T };
}

/**
 * Where every chat message lands first, whatever the platform. A chat that is
 * not paired is answered with a pairing code (at most) and nothing it wrote
 * goes further; a paired chat's commands are answered here and its messages
 * queue for their turn.
 */
export class Gateway {
  constructor(private deps: GatewayDeps) {}

  /** Must return only once the message is stored: the platform is told it arrived after this. */
  receive(m: Inbound): void {
    const { pairings, runner, outbox } = this.deps;
    if (!pairings.isPaired(m.pairKey)) {
      const code = pairings.stranger(m);
      if (code) {
        outbox.enqueue(chatKey(m.chat), pairingText(code), { key: `pair:${m.pairKey}:${code}:${Date.now()}` });
      }
      return;
    }
    const lane = chatKey(m.chat);
    const command = COMMAND.exec(m.text.trim())?.[1]?.toLowerCase();
    if (command === "new") {
      runner.record(m, "new");
      return;
    }
    const answer =
      command === "status" ? this.status(lane) : command === "help" || command === "start" ? HELP : !m.text.trim() ? "I can read text messages only, for now." : undefined;
    if (answer === undefined) {
      runner.record(m, "message");
      return;
    }
    this.deps.db.transaction(() => {
      const id = runner.record(m, "command", "answered");
      if (id !== undefined) outbox.enqueue(lane, answer, { key: `inbox:${id}` });
    })();
  }

  private status(lane: string): string {
    const { runner, brain, conversations, models } = this.deps;
    const conversationId = runner.conversationOf(lane);
    const lines: string[] = [];
    if (conversationId) {
      const c = conversations.get(conversationId);
      lines.push(`Conversation: ${escapeMarkdown(c.title)} (${conversations.messages(c.id).filter((m) => m.role === "user").length} messages from you)`);
      lines.push(brain.activeTurn(c.id) ? "Writing an answer now." : "Idle.");
    } else {
      lines.push("No conversation yet: the next message starts one.");
    }
    const waiting = runner.waiting(lane);
    if (waiting) lines.push(`${waiting} message${waiting === 1 ? "" : "s"} waiting for their turn.`);
    const model = models.settings.roles().agent[0];
    lines.push(model ? `Model: ${escapeMarkdown(model)}` : "No model is configured; the owner has to set one.");
    const b = models.ledger.status();
    lines.push(b.dailyUsd !== null ? `Spent today: $${b.spentUsd} of $${b.dailyUsd}${b.exceeded ? " (budget reached)" : ""}` : `Spent today: $${b.spentUsd}`);
    return lines.join("\n");
  }

  /** Called inside the transaction that stores a notification: the chats the owner chose get it through the outbox. */
  deliver(n: Notification): void {
    for (const p of this.deps.pairings.notifyTargets()) {
      this.deps.outbox.enqueue(p.pairKey, `🔔 ${escapeMarkdown(n.message)}`, { key: `notify:${n.id}:${p.id}` });
    }
  }
}

export function pairingText(code: string): string {
  const shown = showCode(code);
  return [
    `Pairing code: **${shown}**`,
    "",
    "This bot answers only chats its owner has approved. If that is you, approve this chat in the console (Channels) " +
      `or run \`bakerst pair approve ${shown}\` on the server. The code expires in an hour.`,
  ].join("\n");
}
