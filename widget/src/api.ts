/** The assistant's HTTP API as the widget uses it: the streamed answer (server-sent events over a
 * POST, which EventSource cannot send, so the stream is read from fetch), the plain JSON answer
 * as the fallback, and feedback. */

const STREAM_PATH = "/v1/query/stream";
const GUEST_PATH = "/v1/guest-sessions";
/** Carries the token to the streaming function: CloudFront signs requests to it in the
 * Authorization header, overwriting ours (functions/contract.py TOKEN_HEADER). */
const TOKEN_HEADER = "x-genai-stack-token";

export interface GuestSession {
  token: string;
  expires_at: number;
}

export interface Source {
  source: string;
  title: string;
}

export interface FinalAnswer {
  answer: string;
  sources: Source[];
  message_id: string;
  conversation_id: string;
  grounded: boolean;
  fallback: boolean;
  withdrawn?: boolean;
}

export interface AnswerHandlers {
  sources(sources: Source[]): void;
  text(sentence: string): void;
}

/** An error with a message fit to show the visitor (the API's own message where it sent one). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface Question {
  question: string;
  conversation_id?: string;
}

export class Api {
  constructor(
    private readonly baseUrl: string,
    private readonly token: () => Promise<string | null>,
  ) {}

  /** The answer, streamed when `stream` is on; a stream that cannot start (network, a server
   * without the route) falls back to POST /v1/query. */
  async ask(body: Question, handlers: AnswerHandlers, stream: boolean): Promise<FinalAnswer> {
    if (stream) {
      let response: Response | null = null;
      try {
        response = await this.post(STREAM_PATH, body, "text/event-stream");
      } catch {
        response = null; // network failure: try the plain route below
      }
      const streams = response?.headers.get("content-type")?.startsWith("text/event-stream");
      if (response && response.ok && streams && response.body) {
        return readStream(response.body, handlers);
      }
      if (response && response.status >= 400 && response.status < 500 && response.status !== 404 && response.status !== 405) {
        throw await apiError(response); // the request itself is wrong: asking again will not help
      }
    }
    const response = await this.post("/v1/query", body, "application/json");
    if (!response.ok) throw await apiError(response);
    const answer = (await response.json()) as FinalAnswer;
    handlers.sources(answer.sources);
    handlers.text(answer.answer);
    return answer;
  }

  async feedback(body: {
    message_id: string;
    rating: "up" | "down";
    reason?: string;
    comment?: string;
    escalate?: boolean;
  }): Promise<{ ticket_id: string | null }> {
    const response = await this.post("/v1/feedback", body, "application/json");
    if (!response.ok) throw await apiError(response);
    return (await response.json()) as { ticket_id: string | null };
  }

  /** A guest session for a visitor who is not signed in; null where the API offers none. */
  async startGuestSession(): Promise<GuestSession | null> {
    try {
      const response = await this.post(GUEST_PATH, {}, "application/json");
      return response.ok ? ((await response.json()) as GuestSession) : null;
    } catch {
      return null;
    }
  }

  private async post(path: string, body: unknown, accept: string): Promise<Response> {
    const json = JSON.stringify(body);
    const headers: Record<string, string> = { "content-type": "application/json", accept };
    const token = path === GUEST_PATH ? null : await this.token();
    if (token && path === STREAM_PATH) headers[TOKEN_HEADER] = token;
    else if (token) headers.authorization = `Bearer ${token}`;
    // CloudFront signs requests to the streaming function URL (origin access control), and
    // Lambda checks a POST body against this hash; the other routes neither need nor allow it.
    if (path === STREAM_PATH && crypto.subtle) headers["x-amz-content-sha256"] = await sha256Hex(json);
    return fetch(this.baseUrl.replace(/\/$/, "") + path, { method: "POST", headers, body: json });
  }
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function apiError(response: Response): Promise<ApiError> {
  let message = `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as { error?: { message?: string } };
    if (body.error?.message) message = body.error.message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(message, response.status);
}

async function readStream(body: ReadableStream<Uint8Array>, handlers: AnswerHandlers): Promise<FinalAnswer> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parseEvent(block);
      if (event === null) continue;
      if (event.name === "sources") handlers.sources((event.data as { sources: Source[] }).sources);
      else if (event.name === "delta") handlers.text((event.data as { text: string }).text);
      else if (event.name === "final") return event.data as FinalAnswer;
      else if (event.name === "error") throw new ApiError((event.data as { message: string }).message, 200);
    }
  }
  throw new ApiError("the answer stopped before it was complete", 0);
}

function parseEvent(block: string): { name: string; data: unknown } | null {
  let name = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  return data.length ? { name, data: JSON.parse(data.join("\n")) } : null;
}
