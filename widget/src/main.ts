/** The one-tag embed: `<script src=".../widget.js" data-api-url="..." data-title="..."></script>`
 * defines <genai-stack-chat> and adds one to the page, configured from the tag's data attributes
 * (api-url, title, greeting, color, position, lang, streaming, sources-url). */

import { ChatWidget } from "./widget";

const TAG = "genai-stack-chat";
const ATTRIBUTES = ["api-url", "title", "greeting", "color", "position", "lang", "streaming", "sources-url"];

if (!customElements.get(TAG)) customElements.define(TAG, ChatWidget);

const script = document.currentScript as HTMLScriptElement | null;
if (script && script.dataset.autoMount !== "false") {
  const mount = (): void => {
    const widget = document.createElement(TAG);
    for (const name of ATTRIBUTES) {
      const value = script.getAttribute(`data-${name}`);
      if (value !== null) widget.setAttribute(name, value);
    }
    if (!widget.hasAttribute("api-url")) widget.setAttribute("api-url", new URL(".", script.src).href.replace(/\/$/, ""));
    document.body.append(widget);
  };
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
}
