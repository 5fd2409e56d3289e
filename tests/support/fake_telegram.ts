/**
 * A local Telegram Bot API server for tests, speaking the real wire format:
 * `POST /bot<token>/<method>` with JSON, form or multipart bodies, answers
 * `{"ok": true, "result": …}` or `{"ok": false, "error_code", "description",
 * "parameters"?}`, and file downloads at `/file/bot<token>/<path>`.
 *
 * It keeps an update queue with `getUpdates` semantics (an `offset`
 * confirms every update below it; `timeout` long-polls until an update is
 * injected), records every call in order, and can answer a chosen call with
 * an error such as 429 with `parameters.retry_after`.
 *
 * ```ts
 * import { Bot } from "grammy";
 *
 * await using tg = FakeTelegram.start();
 * tg.sendUserMessage({ chatId: 42, fromId: 42, text: "hi" });
 * const bot = new Bot(tg.token, { client: { apiRoot: tg.apiRoot } });
 * ```
 *
 * @module
 */
import type { Message, Update, User } from "grammy/types";

/** One API call as the server saw it. */
export interface RecordedCall {
  /** Position among every call (0, 1, 2, …). */
  seq: number;
  method: string;
  /** The parameters, JSON-decoded where they were JSON. */
  params: Record<string, unknown>;
  /** Uploaded files by field name. */
  files: Record<string, { name: string; bytes: Uint8Array; type: string }>;
  /** The HTTP status answered. */
  status: number;
  /** The `result` answered, when the call succeeded. */
  result?: unknown;
}

/** A scripted failure for the next call of a method. */
export interface FakeFailure {
  status: number;
  description?: string;
  retryAfter?: number;
}

/** What a message sent by a user looks like. */
export interface UserMessage {
  chatId: number;
  fromId: number;
  text?: string;
  chatType?: "private" | "group" | "supergroup";
  firstName?: string;
  username?: string;
  entities?: Message["entities"];
  /** A forum topic. */
  threadId?: number;
  replyTo?: Message;
  document?: { fileId: string; fileName: string; mimeType?: string; size?: number };
  caption?: string;
}

const JSON_HEADERS = { "content-type": "application/json" };

/** The fake server. */
export class FakeTelegram implements AsyncDisposable {
  /** Every call, in arrival order. */
  readonly calls: RecordedCall[] = [];
  readonly bot: User & { username: string };
  #server: Deno.HttpServer<Deno.NetAddr>;
  #updates: Update[] = [];
  #nextUpdateId = 100;
  #nextMessageId = 5000;
  #files = new Map<string, { path: string; bytes: Uint8Array }>();
  #failures = new Map<string, FakeFailure[]>();
  #failAt = new Map<string, FakeFailure>();
  #pollers = new Set<() => void>();
  #callWaiters: (() => void)[] = [];
  #closed = false;

  private constructor(readonly token: string, botId: number, username: string) {
    this.bot = { id: botId, is_bot: true, first_name: "IronClaw", username };
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
  }

  /** Starts a server on a free loopback port. */
  static start(options: { token?: string; botId?: number; username?: string } = {}): FakeTelegram {
    const botId = options.botId ?? 777000111;
    return new FakeTelegram(
      options.token ?? `${botId}:AAH-fakeSecretPartThatIsLongEnough_42`,
      botId,
      options.username ?? "ironclaw_test_bot",
    );
  }

  /** The API root to give the client. */
  get apiRoot(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** The calls of `method`. */
  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /**
   * Resolves once `method` has been called `count` times (as soon as the
   * calls arrive, before they are answered); with `timeoutMs`, rejects after
   * that long naming the calls seen, so a test fails instead of hanging.
   */
  async waitForCalls(method: string, count = 1, timeoutMs?: number): Promise<RecordedCall[]> {
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    while (this.callsOf(method).length < count) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.calls.map((c) => c.method).join(", ");
        throw new Error(
          `${method} was called ${this.callsOf(method).length} of ${count} times; calls: ${seen}`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#callWaiters.push(resolve);
        if (left !== Infinity) timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
    return this.callsOf(method);
  }

  /** Queues an update (its `update_id` is assigned) and wakes a waiting `getUpdates`. */
  inject(update: Omit<Update, "update_id">): Update {
    const full = { ...update, update_id: this.#nextUpdateId++ } as Update;
    this.#updates.push(full);
    for (const wake of [...this.#pollers]) wake();
    return full;
  }

  /** Updates not yet confirmed by an `offset`. */
  pendingUpdates(): Update[] {
    return [...this.#updates];
  }

  /** Builds a user's message (not queued). */
  userMessage(m: UserMessage): Message {
    const chatType = m.chatType ?? (m.chatId < 0 ? "supergroup" : "private");
    const from: User = {
      id: m.fromId,
      is_bot: false,
      first_name: m.firstName ?? `User${m.fromId}`,
      ...(m.username ? { username: m.username } : {}),
    };
    const chat = chatType === "private"
      ? { id: m.chatId, type: "private" as const, first_name: from.first_name }
      : {
        id: m.chatId,
        type: chatType,
        title: "A group",
        ...(m.threadId ? { is_forum: true as const } : {}),
      };
    return {
      message_id: this.#nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat,
      from,
      ...(m.text !== undefined ? { text: m.text } : {}),
      ...(m.entities ? { entities: m.entities } : {}),
      ...(m.caption !== undefined ? { caption: m.caption } : {}),
      ...(m.threadId ? { message_thread_id: m.threadId, is_topic_message: true } : {}),
      ...(m.replyTo ? { reply_to_message: m.replyTo } : {}),
      ...(m.document
        ? {
          document: {
            file_id: m.document.fileId,
            file_unique_id: `u-${m.document.fileId}`,
            file_name: m.document.fileName,
            mime_type: m.document.mimeType,
            file_size: m.document.size,
          },
        }
        : {}),
    } as Message;
  }

  /** Queues a user's message; returns the update. */
  sendUserMessage(m: UserMessage): Update {
    return this.inject({ message: this.userMessage(m) } as Omit<Update, "update_id">);
  }

  /** Queues a press of an inline button of `message` by user `fromId`. */
  pressButton(message: Message, fromId: number, data: string, username?: string): Update {
    return this.inject({
      callback_query: {
        id: `cq-${this.#nextUpdateId}`,
        from: { id: fromId, is_bot: false, first_name: `User${fromId}`, ...(username ? { username } : {}) },
        chat_instance: "ci-1",
        message,
        data,
      },
    } as Omit<Update, "update_id">);
  }

  /** The message the bot sent in `call` (a successful `sendMessage`, `sendDocument`, …). */
  sentMessage(call: RecordedCall): Message {
    if (call.status !== 200 || !call.result) {
      throw new Error(`call ${call.seq} (${call.method}) sent nothing`);
    }
    return call.result as Message;
  }

  /** Stores a file the bot may download; returns its `file_id`. */
  addFile(bytes: Uint8Array, path = `documents/file_${this.#files.size}.bin`): string {
    const id = `FILE${this.#files.size}x${crypto.randomUUID().slice(0, 8)}`;
    this.#files.set(id, { path, bytes });
    return id;
  }

  /** Answers the next call of `method` with `failure` (queued: several calls fail in order). */
  failNext(method: string, failure: FakeFailure): void {
    const list = this.#failures.get(method) ?? [];
    list.push(failure);
    this.#failures.set(method, list);
  }

  /** Answers call number `index` (0-based, counting every call of `method` so far) with `failure`. */
  failAt(method: string, index: number, failure: FakeFailure): void {
    this.#failAt.set(`${method}#${index}`, failure);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Wakes every long poll (answering it empty) and shuts the server down. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const wake of [...this.#pollers]) wake();
    await this.#server.shutdown();
  }

  // ── Serving ─────────────────────────────────────────────────────────────

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const file = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (file) return this.#download(file[1], decodeURIComponent(file[2]));
    const call = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(url.pathname);
    if (!call) return this.#error(404, "Not Found");
    if (decodeURIComponent(call[1]) !== this.token) {
      await request.body?.cancel();
      return this.#error(401, "Unauthorized");
    }
    const { params, files } = await readParams(request, url);
    const method = call[2];
    const recorded: RecordedCall = { seq: this.calls.length, method, params, files, status: 200 };
    this.calls.push(recorded);
    for (const wake of this.#callWaiters.splice(0)) wake();
    const nth = this.callsOf(method).length - 1;
    const failure = this.#failAt.get(`${method}#${nth}`) ?? this.#failures.get(method)?.shift();
    let response: Response;
    if (failure) {
      recorded.status = failure.status;
      response = this.#error(failure.status, failure.description ?? defaultDescription(failure), failure);
    } else {
      response = await this.#answer(method, params, files, recorded);
    }
    return response;
  }

  async #answer(
    method: string,
    params: Record<string, unknown>,
    files: RecordedCall["files"],
    recorded: RecordedCall,
  ): Promise<Response> {
    switch (method) {
      case "getMe":
        return ok(this.bot);
      case "getUpdates":
        return ok(await this.#getUpdates(params));
      case "deleteWebhook":
      case "setWebhook":
      case "sendChatAction":
      case "answerCallbackQuery":
        return ok(true);
      case "sendMessage":
      case "editMessageText": {
        if (typeof params.text !== "string" || params.text === "") {
          recorded.status = 400;
          return this.#error(400, "Bad Request: message text is empty");
        }
        if (params.text.length > 4096) {
          recorded.status = 400;
          return this.#error(400, "Bad Request: message is too long");
        }
        const id = method === "editMessageText" ? Number(params.message_id) : this.#nextMessageId++;
        return ok(recorded.result = this.#messageFor(params, id));
      }
      case "sendDocument": {
        const ref = String(params.document ?? "");
        const field = ref.startsWith("attach://") ? ref.slice("attach://".length) : "document";
        if (!files[field]) {
          recorded.status = 400;
          return this.#error(400, "Bad Request: there is no document in the request");
        }
        const id = this.#nextMessageId++;
        const f = files[field];
        return ok(
          recorded.result = {
            ...this.#messageFor(params, id),
            document: {
              file_id: `sent-${id}`,
              file_unique_id: `su-${id}`,
              file_name: f.name,
              file_size: f.bytes.length,
            },
          },
        );
      }
      case "getFile": {
        const f = this.#files.get(String(params.file_id));
        if (!f) {
          recorded.status = 400;
          return this.#error(400, "Bad Request: invalid file_id");
        }
        return ok({
          file_id: params.file_id,
          file_unique_id: `u-${params.file_id}`,
          file_size: f.bytes.length,
          file_path: f.path,
        });
      }
      default:
        recorded.status = 404;
        return this.#error(404, "Not Found: method not found");
    }
  }

  async #getUpdates(params: Record<string, unknown>): Promise<Update[]> {
    const offset = params.offset === undefined ? undefined : Number(params.offset);
    if (offset !== undefined) this.#updates = this.#updates.filter((u) => u.update_id >= offset);
    const limit = Number(params.limit ?? 100);
    const timeout = Number(params.timeout ?? 0);
    if (this.#updates.length === 0 && timeout > 0 && !this.#closed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#pollers.delete(done);
          resolve();
        };
        const timer = setTimeout(done, timeout * 1000);
        this.#pollers.add(done);
      });
    }
    const allowed = params.allowed_updates as string[] | undefined;
    return this.#updates
      .filter((u) => !allowed || allowed.some((k) => k in u))
      .slice(0, limit);
  }

  #download(token: string, path: string): Response {
    if (token !== this.token) return this.#error(401, "Unauthorized");
    for (const f of this.#files.values()) {
      if (f.path === path) return new Response(f.bytes.slice());
    }
    return this.#error(404, "Not Found");
  }

  #messageFor(params: Record<string, unknown>, id: number): Message {
    const chatId = Number(params.chat_id);
    return {
      message_id: id,
      date: Math.floor(Date.now() / 1000),
      chat: chatId < 0 ? { id: chatId, type: "supergroup", title: "A group" } : {
        id: chatId,
        type: "private",
        first_name: "User",
      },
      from: this.bot,
      ...(typeof params.text === "string" ? { text: params.text } : {}),
      ...(params.message_thread_id !== undefined
        ? { message_thread_id: Number(params.message_thread_id), is_topic_message: true }
        : {}),
      ...(params.reply_markup ? { reply_markup: params.reply_markup } : {}),
    } as Message;
  }

  #error(status: number, description: string, failure?: FakeFailure): Response {
    const body = {
      ok: false,
      error_code: status,
      description,
      ...(failure?.retryAfter !== undefined ? { parameters: { retry_after: failure.retryAfter } } : {}),
    };
    return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
  }
}

function ok(result: unknown): Response {
  return new Response(JSON.stringify({ ok: true, result }), { headers: JSON_HEADERS });
}

function defaultDescription(f: FakeFailure): string {
  if (f.status === 429) return `Too Many Requests: retry after ${f.retryAfter ?? 1}`;
  if (f.status >= 500) return "Internal Server Error";
  return "Bad Request";
}

/** The call's parameters from the query string and a JSON, urlencoded or multipart body (the fakes share it). */
export async function readParams(
  request: Request,
  url: URL,
): Promise<{ params: Record<string, unknown>; files: RecordedCall["files"] }> {
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const files: RecordedCall["files"] = {};
  const type = request.headers.get("content-type") ?? "";
  if (type.startsWith("application/json")) {
    const text = await request.text();
    if (text.trim() !== "") Object.assign(params, JSON.parse(text));
  } else if (type.startsWith("multipart/form-data") || type.startsWith("application/x-www-form-urlencoded")) {
    const form = await request.formData();
    for (const [key, value] of form) {
      if (typeof value === "string") params[key] = decodeField(value);
      else {files[key] = {
          name: value.name,
          bytes: new Uint8Array(await value.arrayBuffer()),
          type: value.type,
        };}
    }
  } else {
    await request.body?.cancel();
  }
  return { params, files };
}

/** Form fields carry JSON for objects and arrays; plain strings stay strings. */
function decodeField(value: string): unknown {
  if (/^[[{]/.test(value)) {
    try {
      return JSON.parse(value);
    } catch { /* a string after all */ }
  }
  return value;
}
