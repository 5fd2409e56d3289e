/**
 * A local Slack for tests, speaking the real wire protocols, so the
 * official libraries (`@slack/web-api`, `@slack/socket-mode`) are the
 * clients:
 * - the Web API: `POST <apiRoot>/<method>` with the token in
 *   `Authorization: Bearer`, form or JSON bodies, answers `{"ok": true, …}`
 *   or `{"ok": false, "error"}`; a scripted 429 carries `Retry-After`;
 *   `auth.test`, `apps.connections.open` (the app-level token; answers the
 *   WebSocket URL), `chat.postMessage`, `chat.update`, `chat.postEphemeral`,
 *   `reactions.add|remove`, the file upload flow
 *   (`files.getUploadURLExternal`, the upload URL, `files.completeUploadExternal`)
 *   and private file downloads that need the bot token;
 * - Socket Mode: a WebSocket that says `hello`, sends `events_api` and
 *   `interactive` envelopes, and keeps each until it is acked by its
 *   `envelope_id`; an envelope not acked when its socket drops is sent
 *   again on the next connection (with `retry_attempt`), as Slack does. It
 *   can ask the client to reconnect (`disconnect`) or drop the socket.
 *
 * ```ts
 * import { WebClient } from "@slack/web-api";
 *
 * await using slack = FakeSlack.start();
 * const web = new WebClient(slack.botToken, { slackApiUrl: `${slack.apiRoot}/` });
 * await web.auth.test();
 * ```
 *
 * @module
 */
import { readParams, type RecordedCall } from "./fake_telegram.ts";

export type { RecordedCall } from "./fake_telegram.ts";

/** One Socket Mode envelope on its way. */
interface Envelope {
  envelope_id: string;
  type: "events_api" | "interactive";
  payload: unknown;
  retry_attempt: number;
  acked: boolean;
}

/** A message a user sends, as the fake builds its event. */
export interface SlackUserMessage {
  channel: string;
  user: string;
  text?: string;
  /** `im` for a direct message (default by the id: `D…`). */
  channelType?: "im" | "channel" | "group" | "mpim";
  threadTs?: string;
  files?: { name: string; bytes: Uint8Array; mimetype?: string }[];
}

/** The fake server. */
export class FakeSlack implements AsyncDisposable {
  readonly calls: RecordedCall[] = [];
  readonly botToken = "xoxb-1111-2222-fakebottokenfakebottoken";
  readonly appToken = "xapp-1-A111-3333-fakeapptokenfakeapptoken";
  readonly botUserId = "UBOT0001";
  #server: Deno.HttpServer<Deno.NetAddr>;
  #sockets = new Set<WebSocket>();
  #envelopes: Envelope[] = [];
  #connections = 0;
  #nextTs = 1;
  #nextId = 1;
  #files = new Map<string, { name: string; bytes: Uint8Array; mimetype?: string }>();
  /** The private files downloaded, by id, in order. */
  readonly downloads: string[] = [];
  /** Uploads by file id: the bytes posted to the upload URL. */
  readonly uploads = new Map<string, { filename: string; bytes?: Uint8Array }>();
  #rateLimits = new Map<string, number[]>();
  #waiters: (() => void)[] = [];
  #closed = false;

  private constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
  }

  /** Starts the fake on a free loopback port. */
  static start(): FakeSlack {
    return new FakeSlack();
  }

  /** What `--api-root` is set to. */
  get apiRoot(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/api`;
  }

  /** How many Socket Mode connections were opened so far. */
  get connections(): number {
    return this.#connections;
  }

  /** The calls of `method`. */
  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves once `check` holds (checked on every call, ack and connection); rejects after `timeoutMs` saying `what`. */
  async until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out waiting for ${what}; calls: ${this.calls.map((c) => c.method).join(", ")}`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, Math.min(left, 200));
      });
      clearTimeout(timer);
    }
  }

  /** Resolves with the calls of `method` once there are `count`. */
  async waitForCalls(method: string, count = 1, timeoutMs?: number): Promise<RecordedCall[]> {
    await this.until(() => this.callsOf(method).length >= count, `${count} × ${method}`, timeoutMs);
    return this.callsOf(method);
  }

  /** Answers the next calls of `method` with 429 and `Retry-After: seconds`, once per entry. */
  rateLimitNext(method: string, ...seconds: number[]): void {
    this.#rateLimits.set(method, [...(this.#rateLimits.get(method) ?? []), ...seconds]);
  }

  /** A private file the bot may download (with its token), as a message's file object. */
  addFile(name: string, bytes: Uint8Array, mimetype?: string): Record<string, unknown> {
    const id = `F${String(this.#nextId++).padStart(8, "0")}`;
    this.#files.set(id, { name, bytes, mimetype });
    const url = `${this.apiRoot.replace(/\/api$/, "")}/files-pri/${id}/${encodeURIComponent(name)}`;
    return { id, name, mimetype, size: bytes.length, url_private: url, url_private_download: url };
  }

  /** A fresh message timestamp, as Slack makes them. */
  nextTs(): string {
    return `${1_700_000_000 + this.#nextTs}.${String(this.#nextTs++).padStart(6, "0")}`;
  }

  /** Sends a user's message as an `events_api` envelope; returns the event and its envelope id. */
  sendUserMessage(m: SlackUserMessage): { event: Record<string, unknown>; envelopeId: string } {
    const files = m.files?.map((f) => this.addFile(f.name, f.bytes, f.mimetype));
    const event: Record<string, unknown> = {
      type: "message",
      channel: m.channel,
      channel_type: m.channelType ?? (m.channel.startsWith("D") ? "im" : "channel"),
      user: m.user,
      text: m.text ?? "",
      ts: this.nextTs(),
      ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
      ...(files ? { files, subtype: "file_share" } : {}),
    };
    return { event, envelopeId: this.sendEvent(event) };
  }

  /** Sends `event` in an `events_api` envelope (kept until acked); returns the envelope id. */
  sendEvent(event: Record<string, unknown>): string {
    return this.#envelope("events_api", {
      type: "event_callback",
      team_id: "T0001",
      api_app_id: "A111",
      event_id: `Ev${this.#nextId++}`,
      event_time: Math.floor(Date.now() / 1000),
      event,
    });
  }

  /** Presses button `actionId` of the bot's message `ts` in `channel`, as `user` (an `interactive` envelope). */
  pressButton(
    options: { channel: string; ts: string; user: string; actionId: string; value?: string },
  ): string {
    return this.#envelope("interactive", {
      type: "block_actions",
      user: { id: options.user, username: options.user.toLowerCase() },
      channel: { id: options.channel },
      container: { type: "message", channel_id: options.channel, message_ts: options.ts },
      message: { ts: options.ts, type: "message" },
      actions: [{ type: "button", action_id: options.actionId, value: options.value ?? "", block_id: "b" }],
    });
  }

  /** Whether envelope `id` was acked. */
  acked(id: string): boolean {
    return this.#envelopes.find((e) => e.envelope_id === id)?.acked === true;
  }

  /** Resolves once envelope `id` is acked. */
  async waitForAck(id: string, timeoutMs?: number): Promise<void> {
    await this.until(() => this.acked(id), `the ack of envelope ${id}`, timeoutMs);
  }

  /** Resolves once `count` connections were opened in all. */
  async waitForConnections(count: number, timeoutMs?: number): Promise<void> {
    await this.until(
      () => this.#connections >= count && this.#sockets.size > 0,
      `${count} connections`,
      timeoutMs,
    );
  }

  /** Drops every open socket abruptly (no `disconnect` message): the client must reconnect on its own. */
  dropSockets(): void {
    for (const socket of this.#sockets) socket.close(4000, "dropped by the fake");
  }

  /** Asks every client to reconnect, as Slack does before recycling a connection. */
  askToReconnect(): void {
    for (const socket of this.#sockets) {
      socket.send(JSON.stringify({ type: "disconnect", reason: "refresh_requested", debug_info: {} }));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const socket of this.#sockets) socket.close();
    await this.#server.shutdown();
  }

  // ── Serving ─────────────────────────────────────────────────────────────

  #envelope(type: Envelope["type"], payload: unknown): string {
    const envelope: Envelope = {
      envelope_id: crypto.randomUUID(),
      type,
      payload,
      retry_attempt: 0,
      acked: false,
    };
    this.#envelopes.push(envelope);
    for (const socket of this.#sockets) this.#send(socket, envelope);
    return envelope.envelope_id;
  }

  #send(socket: WebSocket, e: Envelope): void {
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({
      envelope_id: e.envelope_id,
      type: e.type,
      payload: e.payload,
      accepts_response_payload: false,
      retry_attempt: e.retry_attempt,
      retry_reason: e.retry_attempt > 0 ? "timeout" : "",
    }));
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/link") return this.#socket(request);
    if (url.pathname.startsWith("/files-pri/")) return this.#download(request, url);
    if (url.pathname.startsWith("/upload/")) return await this.#upload(request, url);
    const method = url.pathname.replace(/^\/api\//, "");
    const { params, files } = await readParams(request, url);
    const token = request.headers.get("authorization")?.replace(/^Bearer /, "") ?? String(params.token ?? "");
    const call: RecordedCall = { seq: this.calls.length, method, params, files, status: 200 };
    this.calls.push(call);
    this.#wake();
    const limited = this.#rateLimits.get(method)?.shift();
    if (limited !== undefined) {
      call.status = 429;
      return Response.json({ ok: false, error: "ratelimited" }, {
        status: 429,
        headers: { "retry-after": String(limited) },
      });
    }
    const expected = method === "apps.connections.open" ? this.appToken : this.botToken;
    if (token !== expected) return Response.json({ ok: false, error: "invalid_auth" });
    const result = this.#answer(method, params);
    call.result = result;
    return Response.json(result);
  }

  #answer(method: string, p: Record<string, unknown>): Record<string, unknown> {
    const origin = this.apiRoot.replace(/\/api$/, "");
    switch (method) {
      case "auth.test":
        return {
          ok: true,
          url: "https://fake.slack.example/",
          team: "Fake Team",
          user: "ironclaw",
          team_id: "T0001",
          user_id: this.botUserId,
          bot_id: "B0001",
        };
      case "apps.connections.open":
        return { ok: true, url: `${origin.replace(/^http/, "ws")}/link` };
      case "chat.postMessage": {
        if (!p.channel) return { ok: false, error: "channel_not_found" };
        if (!p.text && !p.blocks) return { ok: false, error: "no_text" };
        const ts = this.nextTs();
        return { ok: true, channel: p.channel, ts, message: { text: p.text, ts, user: this.botUserId } };
      }
      case "chat.update":
        return { ok: true, channel: p.channel, ts: p.ts, text: p.text };
      case "chat.postEphemeral":
        return { ok: true, message_ts: this.nextTs() };
      case "reactions.add":
      case "reactions.remove":
        return { ok: true };
      case "files.getUploadURLExternal": {
        const id = `F${String(this.#nextId++).padStart(8, "0")}`;
        this.uploads.set(id, { filename: String(p.filename) });
        return { ok: true, upload_url: `${origin}/upload/${id}`, file_id: id };
      }
      case "files.completeUploadExternal": {
        const files = (p.files as { id: string; title?: string }[]) ?? [];
        if (files.some((f) => !this.uploads.get(f.id)?.bytes)) {
          return { ok: false, error: "file_upload_not_found" };
        }
        return { ok: true, files: files.map((f) => ({ id: f.id, name: this.uploads.get(f.id)!.filename })) };
      }
      default:
        return { ok: false, error: "unknown_method" };
    }
  }

  #socket(request: Request): Response {
    const { socket, response } = Deno.upgradeWebSocket(request);
    this.#connections++;
    socket.onopen = () => {
      this.#sockets.add(socket);
      socket.send(JSON.stringify({
        type: "hello",
        num_connections: this.#sockets.size,
        connection_info: { app_id: "A111" },
        debug_info: { host: "fake" },
      }));
      // What was sent on a dropped connection and never acked comes again, as Slack retries it.
      for (const e of this.#envelopes.filter((e) => !e.acked)) {
        e.retry_attempt++;
        this.#send(socket, e);
      }
      this.#wake();
    };
    socket.onmessage = (m) => {
      const ack = JSON.parse(String(m.data)) as { envelope_id?: string };
      const e = this.#envelopes.find((x) => x.envelope_id === ack.envelope_id);
      if (e) e.acked = true;
      this.#wake();
    };
    socket.onclose = () => {
      this.#sockets.delete(socket);
      this.#wake();
    };
    return response;
  }

  #download(request: Request, url: URL): Response {
    if (request.headers.get("authorization") !== `Bearer ${this.botToken}`) {
      return new Response("not authorised", { status: 403 });
    }
    const id = url.pathname.split("/")[2];
    const file = this.#files.get(id);
    if (file) this.downloads.push(id);
    return file ? new Response(file.bytes.slice()) : new Response("no such file", { status: 404 });
  }

  async #upload(request: Request, url: URL): Promise<Response> {
    const id = url.pathname.split("/")[2];
    const upload = this.uploads.get(id);
    if (!upload) return new Response("no such upload", { status: 404 });
    const form = await request.formData();
    const file = [...form.values()].find((v): v is File => typeof v !== "string");
    upload.bytes = file
      ? new Uint8Array(await file.arrayBuffer())
      : new TextEncoder().encode(String(form.get("body")));
    this.#wake();
    return new Response(`OK - ${upload.bytes.length}`);
  }
}
