/** <genai-stack-chat>: the conversation view, the streamed answer, sources, feedback and the
 * hand-over to a person, in a Shadow DOM. Text from the API is only ever set as textContent. */

import { Api, ApiError, type FinalAnswer, type Source } from "./api";
import { type Strings, stringsFor } from "./i18n";
import { type Conversation, ConversationStore, type Turn } from "./storage";
import { STYLES } from "./styles";

const MAX_COMMENT = 4000; // the feedback route's limit on `comment`
const CITATION = /\[(\d+)\]/g;
// A thumb drawn inline: emoji fonts are not on every system (Debian's Chromium has none).
const THUMB =
  '<svg aria-hidden="true" width="14" height="14" viewBox="0 0 24 24" fill="currentColor"><path d="M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z"/></svg>';

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

export class ChatWidget extends HTMLElement {
  /** A signed-in customer's JWT, set by the store's page; sent as the Authorization header. */
  authToken: string | null = null;

  private t!: Strings;
  private api!: Api;
  private store!: ConversationStore;
  private state!: Conversation;
  private root!: ShadowRoot;
  private launcher!: HTMLButtonElement;
  private panel!: HTMLElement;
  private log!: HTMLDivElement;
  private status!: HTMLParagraphElement;
  private input!: HTMLTextAreaElement;
  private sendButton!: HTMLButtonElement;
  private personForm!: HTMLFormElement;
  private busy = false;

  connectedCallback(): void {
    if (this.root) return;
    const apiUrl = this.getAttribute("api-url") || location.origin;
    const { lang, strings } = stringsFor(this.getAttribute("lang") ?? document.documentElement.lang);
    this.t = strings;
    this.api = new Api(apiUrl, () => this.credential());
    this.store = new ConversationStore(apiUrl);
    this.state = this.store.load();
    this.root = this.attachShadow({ mode: "open" });
    this.render(lang);
    if (this.state.open) this.setOpen(true, false);
  }

  /** The signed-in customer's token, else this visitor's guest token (a new one when the last
   * has expired); null where the API issues none. */
  private async credential(): Promise<string | null> {
    if (this.authToken) return this.authToken;
    const guest = this.state.guest;
    if (guest && guest.expires_at > Date.now() / 1000 + 30) return guest.token;
    this.state.guest = (await this.api.startGuestSession()) ?? undefined;
    this.store.save(this.state);
    return this.state.guest?.token ?? null;
  }

  /** Sends, and sends again (at most twice) after a refusal the widget can mend itself. */
  private async sendRecovering(send: () => Promise<FinalAnswer>, retries = 2): Promise<FinalAnswer> {
    try {
      return await send();
    } catch (error) {
      if (retries === 0 || !this.recover(error)) throw error;
      return this.sendRecovering(send, retries - 1);
    }
  }

  /** A guest token the API refuses (a new key, say) is replaced by a new session's; a
   * conversation it does not find for this visitor (another guest session's: the one that
   * started it has ended) is left, and the question starts a new one. */
  private recover(error: unknown): boolean {
    if (!(error instanceof ApiError)) return false;
    if (error.status === 401 && this.state.guest) {
      this.state.guest = undefined;
      return true;
    }
    if (error.status === 404 && this.state.conversationId) {
      this.state.conversationId = undefined;
      return true;
    }
    return false;
  }

  private get streaming(): boolean {
    return this.getAttribute("streaming") !== "off";
  }

  private render(lang: string): void {
    const t = this.t;
    const title = this.getAttribute("title") || t.open;
    const color = this.getAttribute("color");
    const wrapper = el("div", { class: this.getAttribute("position") === "left" ? "left" : "right", lang });
    if (color && CSS.supports("color", color)) wrapper.style.setProperty("--accent", color);
    this.removeAttribute("title"); // the host's own tooltip would shadow the widget

    this.launcher = el("button", { class: "launcher", "aria-expanded": "false", "aria-controls": "panel", text: t.open });
    this.launcher.addEventListener("click", () => this.setOpen(this.panel.hasAttribute("hidden"), true));

    this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": title, tabindex: "0" });
    this.status = el("p", { class: "status", role: "status" });
    this.input = el("textarea", { id: "question", rows: "2", placeholder: t.placeholder, maxlength: "4000" });
    this.sendButton = el("button", { type: "submit", class: "primary", text: t.send });
    const composer = el(
      "form",
      { class: "composer" },
      el("label", { for: "question", class: "sr-only", text: t.inputLabel }),
      this.input,
      this.sendButton,
    );
    composer.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.ask();
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        void this.ask();
      }
    });

    const close = el("button", { type: "button", "aria-label": t.close, text: "✕" });
    close.addEventListener("click", () => this.setOpen(false, true));
    const restart = el("button", { type: "button", text: t.newChat });
    restart.addEventListener("click", () => this.restart());
    const person = el("button", { type: "button", class: "person", text: t.person, "aria-controls": "person-form" });
    person.addEventListener("click", () => this.showPersonForm());
    this.personForm = this.buildPersonForm();

    this.panel = el(
      "section",
      { class: "panel", id: "panel", role: "dialog", "aria-labelledby": "title", hidden: "" },
      el("header", {}, el("h2", { id: "title", text: title }), restart, close),
      this.log,
      this.status,
      this.personForm,
      composer,
      el("footer", {}, person),
    );
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.setOpen(false, true);
    });
    wrapper.append(this.launcher, this.panel);
    this.root.append(el("style", { text: STYLES }), wrapper);
    this.renderLog();
  }

  private setOpen(open: boolean, moveFocus: boolean): void {
    this.panel.hidden = !open;
    this.launcher.setAttribute("aria-expanded", String(open));
    this.launcher.hidden = open && matchMedia("(max-width: 480px)").matches; // the panel covers a phone
    this.state.open = open;
    this.store.save(this.state);
    if (!moveFocus) return;
    if (open) this.input.focus();
    else this.launcher.focus();
  }

  private renderLog(): void {
    const greeting = this.getAttribute("greeting") || this.t.greeting;
    this.log.replaceChildren(el("div", { class: "msg assistant" }, el("p", { text: greeting })));
    this.state.turns.forEach((turn) => this.log.append(this.renderTurn(turn)));
    if (this.state.ticketId) this.log.append(this.note(`${this.t.personSent} ${this.state.ticketId}`));
  }

  private renderTurn(turn: Turn): HTMLDivElement {
    const who = turn.role === "user" ? this.t.you : this.t.assistant;
    const item = el("div", { class: `msg ${turn.role}` }, el("span", { class: "sr-only", text: `${who}: ` }));
    const text = el("p", { text: turn.text });
    if (turn.error) text.className = "error";
    item.append(text);
    if (turn.role === "assistant" && !turn.error) this.decorate(item, turn);
    return item;
  }

  /** Sources and the rating controls under a finished answer. */
  private decorate(item: HTMLDivElement, turn: Turn): void {
    const sources = this.renderSources(turn.text, turn.sources ?? []);
    if (sources) item.append(sources);
    if (turn.messageId) item.append(this.renderRating(item, turn));
  }

  private renderSources(answer: string, sources: Source[]): HTMLElement | null {
    const cited = new Set([...answer.matchAll(CITATION)].map((match) => Number(match[1])));
    const shown = sources
      .map((source, index) => ({ source, number: index + 1 }))
      .filter(({ number }) => cited.size === 0 || cited.has(number));
    if (!shown.length) return null;
    const list = el("ol", { class: "sources" });
    for (const { source, number } of shown) {
      const href = this.sourceUrl(source.source);
      const label = source.title || source.source;
      const item = el("li", { value: String(number) }, href ? el("a", { href, target: "_blank", rel: "noopener", text: label }) : label);
      list.append(item);
    }
    return el("nav", { "aria-label": this.t.sources }, el("span", { class: "sr-only", text: this.t.sources }), list);
  }

  /** A link for a source: its own address, or the store's `sources-url` joined with its path. */
  private sourceUrl(source: string): string | null {
    if (/^https?:\/\//.test(source)) return source;
    const base = this.getAttribute("sources-url");
    if (!base) return null;
    try {
      return new URL(source, new URL(base, location.href)).href;
    } catch {
      return null;
    }
  }

  private renderRating(item: HTMLDivElement, turn: Turn): HTMLElement {
    const group = el("div", { class: "rate", role: "group", "aria-label": `${this.t.helpful}?` });
    const buttons = (["up", "down"] as const).map((rating) => {
      const label = rating === "up" ? this.t.helpful : this.t.notHelpful;
      const button = el("button", { type: "button", "aria-pressed": String(turn.rating === rating) });
      button.innerHTML = rating === "up" ? THUMB : THUMB.replace("<svg ", '<svg style="transform:rotate(180deg)" ');
      button.append(label);
      button.addEventListener("click", () => this.openFeedback(item, turn, rating, button));
      return button;
    });
    group.append(...buttons);
    return group;
  }

  private openFeedback(item: HTMLDivElement, turn: Turn, rating: "up" | "down", trigger: HTMLButtonElement): void {
    item.querySelector("form.feedback")?.remove();
    const t = this.t;
    const id = `fb-${turn.messageId}`;
    const reason = el("select", { id: `${id}-reason` }, ...t.reasons.map((text) => el("option", { text })));
    const comment = el("textarea", { id: `${id}-comment`, rows: "2", maxlength: String(MAX_COMMENT) });
    const send = el("button", { type: "submit", class: "primary", text: t.sendFeedback });
    const cancel = el("button", { type: "button", text: t.cancel });
    const form = el(
      "form",
      { class: "feedback", "aria-label": rating === "up" ? t.helpful : t.notHelpful },
      ...(rating === "down" ? [el("label", { for: reason.id, text: t.reasonLabel }), reason] : []),
      el("label", { for: comment.id, text: t.commentLabel }),
      comment,
      el("div", { class: "row" }, send, cancel),
    );
    cancel.addEventListener("click", () => {
      form.remove();
      trigger.focus();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.sendFeedback(item, turn, rating, {
        reason: rating === "down" ? reason.value : undefined,
        comment: comment.value.trim() || undefined,
      });
    });
    item.append(form);
    (rating === "down" ? reason : comment).focus();
  }

  private async sendFeedback(
    item: HTMLDivElement,
    turn: Turn,
    rating: "up" | "down",
    details: { reason?: string; comment?: string },
  ): Promise<void> {
    const form = item.querySelector("form.feedback");
    try {
      await this.api.feedback({ message_id: turn.messageId!, rating, ...details });
    } catch (error) {
      this.showError(form ?? item, error);
      return;
    }
    turn.rating = rating;
    this.store.save(this.state);
    form?.remove();
    item.querySelectorAll(".rate button").forEach((button, index) => {
      button.setAttribute("aria-pressed", String((index === 0 ? "up" : "down") === rating));
    });
    const thanks = el("p", { class: "thanks", tabindex: "-1", text: this.t.thanks });
    item.append(thanks);
    thanks.focus();
  }

  private buildPersonForm(): HTMLFormElement {
    const t = this.t;
    const note = el("textarea", { id: "person-note", rows: "2", maxlength: "1000" });
    const send = el("button", { type: "submit", class: "primary", text: t.person });
    const cancel = el("button", { type: "button", text: t.cancel });
    const form = el(
      "form",
      { class: "person-form", id: "person-form", hidden: "", "aria-label": t.person },
      el("label", { for: "person-note", text: t.personNote }),
      note,
      el("div", { class: "row" }, send, cancel),
    );
    cancel.addEventListener("click", () => {
      form.hidden = true;
      this.input.focus();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.escalate(note.value.trim());
    });
    return form;
  }

  private showPersonForm(): void {
    if (!this.lastAnswer()) {
      this.status.textContent = this.t.personNeedsQuestion;
      this.input.focus();
      return;
    }
    this.personForm.hidden = false;
    this.personForm.querySelector("textarea")!.focus();
  }

  private lastAnswer(): Turn | undefined {
    return [...this.state.turns].reverse().find((turn) => turn.role === "assistant" && turn.messageId);
  }

  /** Hand the conversation to a person: the last answer's feedback with `escalate`, carrying the
   * visitor's note and the transcript (the most recent turns that fit the comment's limit). */
  private async escalate(note: string): Promise<void> {
    const last = this.lastAnswer();
    if (!last) return;
    const lines = this.state.turns.map((turn) => `${turn.role === "user" ? this.t.you : this.t.assistant}: ${turn.text}`);
    let transcript = lines.join("\n");
    const room = MAX_COMMENT - note.length - 20;
    if (transcript.length > room) transcript = `…${transcript.slice(transcript.length - room + 1)}`;
    try {
      const receipt = await this.api.feedback({
        message_id: last.messageId!,
        rating: "down",
        reason: "talk to a person",
        comment: `${note ? `${note}\n\n` : ""}Transcript:\n${transcript}`,
        escalate: true,
      });
      this.state.ticketId = receipt.ticket_id ?? undefined;
    } catch (error) {
      this.showError(this.personForm, error);
      return;
    }
    this.store.save(this.state);
    this.personForm.hidden = true;
    this.personForm.querySelector("p.error")?.remove();
    const notice = this.note(`${this.t.personSent} ${this.state.ticketId ?? ""}`.trim());
    this.log.append(notice);
    notice.focus();
  }

  private note(text: string): HTMLDivElement {
    return el("div", { class: "msg note", tabindex: "-1", text });
  }

  private restart(): void {
    this.state = { turns: [], open: true };
    this.store.save(this.state);
    this.status.textContent = "";
    this.personForm.hidden = true;
    this.renderLog();
    this.input.focus();
  }

  private async ask(): Promise<void> {
    const question = this.input.value.trim();
    if (!question || this.busy) return;
    this.busy = true;
    this.sendButton.disabled = true;
    this.input.value = "";
    const asked: Turn = { role: "user", text: question };
    this.state.turns.push(asked);
    this.store.save(this.state);
    this.log.append(this.renderTurn(asked));

    const item = el("div", { class: "msg assistant", "aria-busy": "true" }, el("span", { class: "sr-only", text: `${this.t.assistant}: ` }));
    const text = el("p");
    item.append(text);
    this.log.append(item);
    this.status.textContent = this.t.thinking;
    let sources: Source[] = [];
    try {
      const send = (): Promise<FinalAnswer> =>
        this.api.ask(
          { question, conversation_id: this.state.conversationId },
          {
            sources: (received) => (sources = received),
            text: (sentence) => {
              text.append(sentence); // appended, so the live region reads each sentence once
              this.log.scrollTop = this.log.scrollHeight;
            },
          },
          this.streaming,
        );
      const final = await this.sendRecovering(send);
      if (final.withdrawn || text.textContent !== final.answer) text.textContent = final.answer;
      if (final.withdrawn) this.status.textContent = this.t.withdrawn;
      const turn: Turn = { role: "assistant", text: final.answer, sources: final.sources ?? sources, messageId: final.message_id };
      this.state.conversationId = final.conversation_id;
      this.state.turns.push(turn);
      this.decorate(item, turn);
      if (!final.withdrawn) this.status.textContent = "";
    } catch (error) {
      const turn: Turn = { role: "assistant", text: this.errorText(error), error: true };
      this.state.turns.push(turn);
      item.replaceWith(this.renderTurn(turn));
      this.status.textContent = "";
    } finally {
      item.removeAttribute("aria-busy");
      this.store.save(this.state);
      this.busy = false;
      this.sendButton.disabled = false;
      this.log.scrollTop = this.log.scrollHeight;
      this.input.focus();
    }
  }

  private errorText(error: unknown): string {
    const detail = error instanceof ApiError ? error.message : "the service could not be reached";
    return `${this.t.error}: ${detail}.`;
  }

  private showError(container: Element, error: unknown): void {
    container.querySelector("p.error")?.remove();
    container.append(el("p", { class: "error", role: "alert", text: this.errorText(error) }));
  }
}
