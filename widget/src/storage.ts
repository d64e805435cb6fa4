/** The conversation kept in localStorage, so it survives page loads (one per API and page origin). */

import type { GuestSession, Source } from "./api";

export interface Turn {
  role: "user" | "assistant";
  text: string;
  sources?: Source[];
  messageId?: string;
  rating?: "up" | "down";
  error?: boolean;
}

export interface Conversation {
  conversationId?: string;
  turns: Turn[];
  open: boolean;
  ticketId?: string;
  guest?: GuestSession;
}

export class ConversationStore {
  private readonly key: string;

  constructor(apiUrl: string) {
    this.key = `genai-stack-chat:${apiUrl}`;
  }

  load(): Conversation {
    try {
      const saved = JSON.parse(localStorage.getItem(this.key) ?? "null") as Conversation | null;
      if (saved && Array.isArray(saved.turns)) return saved;
    } catch {
      // storage blocked or corrupt: start afresh
    }
    return { turns: [], open: false };
  }

  save(conversation: Conversation): void {
    try {
      localStorage.setItem(this.key, JSON.stringify(conversation));
    } catch {
      // storage full or blocked: the conversation still works for this page
    }
  }
}
