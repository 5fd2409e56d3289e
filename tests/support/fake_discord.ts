/**
 * A local Discord for tests, speaking the real wire protocols so the
 * official libraries (`@discordjs/rest`, `@discordjs/ws`, `@discordjs/core`)
 * drive it unchanged, pointed at it by their API root:
 *
 * - REST under `/api/v10/…`: `GET gateway/bot`, `GET users/@me`,
 *   `POST channels/{id}/messages` (JSON, or multipart with `payload_json`
 *   and `files[n]`), `PATCH channels/{id}/messages/{id}`, `POST
 *   channels/{id}/typing`, `POST channels/{id}/messages/{id}/threads`, `POST
 *   interactions/{id}/{token}/callback`, `GET applications/@me`, `GET channels/{id}` (a thread, or a text channel). `Authorization: Bot <token>` is
 *   checked (401 otherwise, interaction callbacks excepted as on Discord);
 *   every answer carries the `X-RateLimit-*` bucket headers, and a scripted
 *   429 carries `Retry-After`, `X-RateLimit-Scope` and the
 *   `{"message", "retry_after", "global"}` body.
 * - Attachments served from `/attachments/…` (Discord's CDN, unauthenticated).
 * - The Gateway WebSocket: HELLO with `heartbeat_interval`, IDENTIFY (the
 *   token and intents checked and recorded) answered by READY with a
 *   `session_id` and a `resume_gateway_url` (a path of its own, so a test
 *   sees the client resume there), heartbeats ACKed, dispatches numbered by
 *   `s`. {@link FakeDiscord.dropConnection} closes the socket as a network
 *   failure would; events dispatched meanwhile are kept and, on RESUME with
 *   the session's id and the last `s` the client saw, every later event is
 *   replayed in order, then RESUMED.
 *
 * ```ts
 * import { REST } from "@discordjs/rest";
 *
 * await using discord = FakeDiscord.start();
 * const rest = new REST({ api: `${discord.apiRoot}/api` }).setToken(discord.token);
 * const me = await rest.get("/users/@me");
 * ```
 *
 * @module
 */
import {
  type APIAttachment,
  type APIChannel,
  type APIInteraction,
  type APIMessage,
  type APIUser,
  ChannelType,
  ComponentType,
  GatewayOpcodes,
  InteractionType,
  MessageType,
} from "@discordjs/core";

/** One REST call as the server saw it. */
export interface DiscordCall {
  /** Position among every call (0, 1, 2, …). */
  seq: number;
  /** When it arrived (ms since the epoch). */
  at: number;
  method: string;
  /** The path after `/api/v10`, e.g. `/channels/42/messages`. */
  route: string;
  /** The JSON body (or a multipart body's `payload_json`). */
  body: Record<string, unknown>;
  /** Uploaded files by field name (`files[0]`, …). */
  files: Record<string, { name: string; bytes: Uint8Array; type: string }>;
  /** The HTTP status answered. */
  status: number;
  /** The JSON answered, if any. */
  response?: unknown;
}

/** A scripted failure for the next REST call whose method and route match. */
export interface DiscordFailure {
  method: string;
  route: RegExp;
  status: number;
  /** Seconds, for a 429. */
  retryAfter?: number;
}

/** What a user's message looks like. */
export interface DiscordUserMessage {
  channelId: string;
  /** A guild channel's guild; none for a DM. */
  guildId?: string;
  author: { id: string; username?: string };
  content: string;
  /** Users mentioned (`<@id>` in the content is not parsed: Discord sends both). */
  mentions?: string[];
  attachments?: APIAttachment[];
  /** The message it replies to. */
  replyTo?: { messageId: string; authorId?: string };
}

/** What a gateway connection did, for tests to look at. */
export interface GatewayLog {
  identifies: { intents: number; token: string }[];
  resumes: { sessionId: string; seq: number; path: string; replayed: number }[];
  heartbeats: number;
}

/** Discord's epoch (2015-01-01), the base of snowflakes. */
const DISCORD_EPOCH = 1420070400000n;
const JSON_HEADERS = { "content-type": "application/json" };
/** The privileged MESSAGE_CONTENT intent, and the application flag that says it is enabled. */
const MESSAGE_CONTENT_INTENT = 1 << 15;
const APP_FLAG_MESSAGE_CONTENT_LIMITED = 1 << 19;

/** The fake. */
export class FakeDiscord implements AsyncDisposable {
  /** Every REST call, in arrival order. */
  readonly calls: DiscordCall[] = [];
  readonly gateway: GatewayLog = { identifies: [], resumes: [], heartbeats: 0 };
  /** Every attachment path downloaded, in order. */
  readonly downloads: string[] = [];
  readonly bot: APIUser;
  readonly applicationId: string;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #heartbeatMs: number;
  #messageContent: boolean;
  #increment = 0n;
  #failures: DiscordFailure[] = [];
  #files = new Map<string, { bytes: Uint8Array; type: string }>();
  #threads = new Map<string, string>();
  #events: { s: number; t: string; d: unknown }[] = [];
  #sessionId = crypto.randomUUID().replaceAll("-", "");
  #socket?: WebSocket;
  /** True between a drop and the RESUME (or IDENTIFY) that follows: dispatches are kept, not sent. */
  #down = false;
  #waiters: (() => void)[] = [];

  private constructor(readonly token: string, options: { heartbeatMs: number; messageContent: boolean }) {
    this.#heartbeatMs = options.heartbeatMs;
    this.#messageContent = options.messageContent;
    this.applicationId = this.snowflake();
    this.bot = {
      id: this.applicationId,
      username: "ironclaw-test",
      discriminator: "0",
      global_name: null,
      avatar: null,
      bot: true,
    };
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.#handle(request),
    );
  }

  /**
   * Starts a server on a free loopback port; heartbeats every `heartbeatMs`
   * (default 1 s). With `messageContent: false` the application has not
   * enabled the privileged intent: its flags say so, and an IDENTIFY asking
   * for it is closed with 4014 as Discord does.
   */
  static start(
    options: { token?: string; heartbeatMs?: number; messageContent?: boolean } = {},
  ): FakeDiscord {
    return new FakeDiscord(
      options.token ?? "MTIzNDU2Nzg5MDEyMzQ1Njc4.GfakeX.fake-discord-token-part-that-is-long",
      { heartbeatMs: options.heartbeatMs ?? 1_000, messageContent: options.messageContent ?? true },
    );
  }

  #appFlags(): number {
    return this.#messageContent ? APP_FLAG_MESSAGE_CONTENT_LIMITED : 0;
  }

  /** The API root to give the client (its REST is `${apiRoot}/api`). */
  get apiRoot(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** A fresh snowflake, later than every one before. */
  snowflake(): string {
    const ms = BigInt(Date.now()) - DISCORD_EPOCH;
    return String((ms << 22n) | (this.#increment++ & 0xfffn));
  }

  /** The calls matching `method` and `route`. */
  callsTo(method: string, route: RegExp): DiscordCall[] {
    return this.calls.filter((c) => c.method === method && route.test(c.route) && c.status < 300);
  }

  /** The messages posted in `channelId` (successful calls). */
  messagesIn(channelId: string): DiscordCall[] {
    return this.callsTo("POST", new RegExp(`^/channels/${channelId}/messages$`));
  }

  /** Answers the next call matching `failure.method` and `failure.route` with its status. */
  failNext(failure: DiscordFailure): void {
    this.#failures.push(failure);
  }

  /**
   * Resolves once `check` holds (checked after every call and gateway
   * event); rejects after `timeoutMs` with `what`, so a test fails instead
   * of hanging.
   */
  async waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = check();
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.calls.map((c) => {
          const what = [c.body.content, ...Object.values(c.files).map((f) => `file ${f.name}`)].filter(
            Boolean,
          );
          return `${c.method} ${c.route} ${c.status}${
            what.length ? ` ${JSON.stringify(what).slice(0, 80)}` : ""
          }`;
        }).join("; ");
        throw new Error(`timed out waiting for ${what}; REST calls: ${seen}`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, Math.min(left, 500));
      });
      clearTimeout(timer);
    }
  }

  /** Serves `bytes` as an attachment; returns it as a message carries it. */
  addFile(
    bytes: Uint8Array,
    name: string,
    options: { contentType?: string; size?: number } = {},
  ): APIAttachment {
    const id = this.snowflake();
    const path = `/attachments/${id}/${encodeURIComponent(name)}`;
    const type = options.contentType ?? "application/octet-stream";
    this.#files.set(path, { bytes, type });
    return {
      id,
      filename: name,
      size: options.size ?? bytes.length,
      url: `${this.apiRoot}${path}?ex=0&is=0&hm=signed`,
      proxy_url: `${this.apiRoot}${path}`,
      content_type: type,
    };
  }

  /** Dispatches MESSAGE_CREATE for a user's message; returns the message. */
  sendUserMessage(m: DiscordUserMessage): APIMessage & { guild_id?: string } {
    const author: APIUser = {
      id: m.author.id,
      username: m.author.username ?? `user${m.author.id}`,
      discriminator: "0",
      global_name: null,
      avatar: null,
    };
    const mentioned = (m.mentions ?? []).map((id) =>
      id === this.bot.id ? this.bot : { ...author, id, username: `user${id}` }
    );
    const message = {
      id: this.snowflake(),
      channel_id: m.channelId,
      ...(m.guildId ? { guild_id: m.guildId } : {}),
      author,
      content: m.content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: mentioned,
      mention_roles: [],
      attachments: m.attachments ?? [],
      embeds: [],
      pinned: false,
      type: m.replyTo ? MessageType.Reply : MessageType.Default,
      ...(m.replyTo
        ? {
          message_reference: {
            message_id: m.replyTo.messageId,
            channel_id: m.channelId,
            guild_id: m.guildId,
          },
        }
        : {}),
    } as APIMessage & { guild_id?: string };
    this.dispatch("MESSAGE_CREATE", message);
    return message;
  }

  /** Dispatches INTERACTION_CREATE: `user` presses the button `customId` of `message`; returns the interaction. */
  pressButton(
    message: { id: string; channel_id: string; guild_id?: string },
    how: { customId: string; userId: string },
  ): APIInteraction {
    const user: APIUser = {
      id: how.userId,
      username: `user${how.userId}`,
      discriminator: "0",
      global_name: null,
      avatar: null,
    };
    const interaction = {
      id: this.snowflake(),
      application_id: this.applicationId,
      type: InteractionType.MessageComponent,
      token: `interaction-token-${crypto.randomUUID()}`,
      version: 1,
      channel_id: message.channel_id,
      ...(message.guild_id
        ? {
          guild_id: message.guild_id,
          member: { user, roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false },
        }
        : { user }),
      message: { id: message.id, channel_id: message.channel_id },
      data: { custom_id: how.customId, component_type: ComponentType.Button },
      app_permissions: "0",
      locale: "en-US",
      entitlements: [],
      authorizing_integration_owners: {},
      attachment_size_limit: 10 * 1024 * 1024,
    } as unknown as APIInteraction;
    this.dispatch("INTERACTION_CREATE", interaction);
    return interaction;
  }

  /** Numbers and sends (or, while the connection is down, keeps) a dispatch. */
  dispatch(t: string, d: unknown): number {
    const s = this.#events.length + 1;
    this.#events.push({ s, t, d });
    if (!this.#down) this.#send({ op: GatewayOpcodes.Dispatch, t, s, d });
    return s;
  }

  /** Cuts the gateway connection as a network failure would (the session stays resumable). */
  dropConnection(): void {
    this.#down = true;
    this.#socket?.close(4000, "connection lost");
    this.#socket = undefined;
  }

  /** True while a client's gateway connection is open and past IDENTIFY or RESUME. */
  get connected(): boolean {
    return this.#socket?.readyState === WebSocket.OPEN && !this.#down;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#socket?.close(1000);
    await this.#server.shutdown();
  }

  // ── The gateway ─────────────────────────────────────────────────────────

  #gateway(request: Request, path: string): Response {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onopen = () => {
      this.#socket?.close(4009, "session replaced");
      this.#socket = socket;
      socket.send(JSON.stringify({ op: GatewayOpcodes.Hello, d: { heartbeat_interval: this.#heartbeatMs } }));
    };
    socket.onmessage = (e) => this.#onFrame(socket, path, JSON.parse(String(e.data)));
    return response;
  }

  #onFrame(socket: WebSocket, path: string, frame: { op: number; d: Record<string, unknown> }): void {
    const send = (payload: unknown) =>
      socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(payload));
    switch (frame.op) {
      case GatewayOpcodes.Heartbeat:
        this.gateway.heartbeats++;
        send({ op: GatewayOpcodes.HeartbeatAck });
        break;
      case GatewayOpcodes.Identify: {
        if (frame.d.token !== this.token && frame.d.token !== `Bot ${this.token}`) {
          socket.close(4004, "Authentication failed.");
          break;
        }
        if ((Number(frame.d.intents) & MESSAGE_CONTENT_INTENT) !== 0 && !this.#messageContent) {
          socket.close(4014, "Disallowed intent(s).");
          break;
        }
        this.gateway.identifies.push({ intents: Number(frame.d.intents), token: String(frame.d.token) });
        this.#down = false;
        this.#sessionId = crypto.randomUUID().replaceAll("-", "");
        const s = this.#events.length + 1;
        this.#events.push({ s, t: "READY", d: null });
        send({
          op: GatewayOpcodes.Dispatch,
          t: "READY",
          s,
          d: {
            v: 10,
            user: this.bot,
            guilds: [],
            session_id: this.#sessionId,
            resume_gateway_url: `ws://127.0.0.1:${this.#server.addr.port}/resume`,
            shard: [0, 1],
            application: { id: this.applicationId, flags: 0 },
          },
        });
        break;
      }
      case GatewayOpcodes.Resume: {
        const seq = Number(frame.d.seq);
        if (
          frame.d.session_id !== this.#sessionId ||
          frame.d.token !== this.token && frame.d.token !== `Bot ${this.token}`
        ) {
          send({ op: GatewayOpcodes.InvalidSession, d: false });
          break;
        }
        const missed = this.#events.filter((e) => e.s > seq);
        this.gateway.resumes.push({ sessionId: this.#sessionId, seq, path, replayed: missed.length });
        for (const e of missed) send({ op: GatewayOpcodes.Dispatch, t: e.t, s: e.s, d: e.d });
        this.#down = false;
        const s = this.#events.length + 1;
        this.#events.push({ s, t: "RESUMED", d: {} });
        send({ op: GatewayOpcodes.Dispatch, t: "RESUMED", s, d: {} });
        break;
      }
    }
    this.#wake();
  }

  #send(payload: unknown): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(payload));
  }

  // ── REST ────────────────────────────────────────────────────────────────

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
      return this.#gateway(request, url.pathname);
    }
    const file = this.#files.get(url.pathname);
    if (request.method === "GET" && file) {
      this.downloads.push(url.pathname);
      return new Response(file.bytes.slice(), { headers: { "content-type": file.type } });
    }
    const prefix = "/api/v10";
    if (!url.pathname.startsWith(prefix)) return new Response("not found", { status: 404 });
    const route = decodeURIComponent(url.pathname.slice(prefix.length));
    const call: DiscordCall = {
      seq: this.calls.length,
      at: Date.now(),
      method: request.method,
      route,
      body: {},
      files: {},
      status: 0,
    };
    this.calls.push(call);
    try {
      await this.#readBody(request, call);
      const response = this.#answer(request, call, url);
      call.status = response.status;
      if (response.headers.get("content-type") === JSON_HEADERS["content-type"]) {
        call.response = await response.clone().json();
      }
      return response;
    } finally {
      this.#wake();
    }
  }

  async #readBody(request: Request, call: DiscordCall): Promise<void> {
    const type = request.headers.get("content-type") ?? "";
    if (type.startsWith("application/json")) {
      call.body = await request.json();
    } else if (type.startsWith("multipart/form-data")) {
      const form = await request.formData();
      for (const [field, value] of form.entries()) {
        if (typeof value === "string") {
          if (field === "payload_json") call.body = JSON.parse(value);
        } else {
          call.files[field] = {
            name: value.name,
            bytes: new Uint8Array(await value.arrayBuffer()),
            type: value.type,
          };
        }
      }
    } else {
      await request.body?.cancel();
    }
  }

  #answer(request: Request, call: DiscordCall, url: URL): Response {
    const { method, route } = call;
    const isCallback = /^\/interactions\/\d+\/[^/]+\/callback$/.test(route);
    if (!isCallback && request.headers.get("authorization") !== `Bot ${this.token}`) {
      return json({ message: "401: Unauthorized", code: 0 }, 401);
    }
    const bucket = `bucket-${method}-${route.replace(/\d{5,}/g, ":id").replace(/\/messages\/:id$/, "")}`;
    const failure = this.#failures.findIndex((f) => f.method === method && f.route.test(route));
    if (failure >= 0) {
      const [f] = this.#failures.splice(failure, 1);
      if (f.status === 429) {
        const after = f.retryAfter ?? 1;
        return json({ message: "You are being rate limited.", retry_after: after, global: false }, 429, {
          "retry-after": String(Math.ceil(after)),
          "x-ratelimit-limit": "5",
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": String(Date.now() / 1000 + after),
          "x-ratelimit-reset-after": String(after),
          "x-ratelimit-bucket": bucket,
          "x-ratelimit-scope": "user",
        });
      }
      return json({ message: `scripted failure ${f.status}`, code: 0 }, f.status);
    }
    const limits = {
      "x-ratelimit-limit": "50",
      "x-ratelimit-remaining": "49",
      "x-ratelimit-reset": String(Date.now() / 1000 + 1),
      "x-ratelimit-reset-after": "1",
      "x-ratelimit-bucket": bucket,
    };
    let m: RegExpMatchArray | null;
    if (method === "GET" && route === "/gateway/bot") {
      return json(
        {
          url: `ws://127.0.0.1:${this.#server.addr.port}`,
          shards: 1,
          session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
        },
        200,
        limits,
      );
    }
    if (method === "GET" && route === "/users/@me") return json(this.bot, 200, limits);
    if (method === "GET" && route === "/applications/@me") {
      return json({ id: this.applicationId, name: "IronClaw", flags: this.#appFlags() }, 200, limits);
    }
    if (method === "GET" && (m = route.match(/^\/channels\/(\d+)$/))) {
      return json(this.#channel(m[1]), 200, limits);
    }
    if (method === "POST" && (m = route.match(/^\/channels\/(\d+)\/typing$/))) {
      return new Response(null, { status: 204, headers: limits });
    }
    if (method === "POST" && (m = route.match(/^\/channels\/(\d+)\/messages\/(\d+)\/threads$/))) {
      const thread: APIChannel = {
        id: this.snowflake(),
        type: ChannelType.PublicThread,
        guild_id: "0",
        parent_id: m[1],
        name: String(call.body.name ?? "thread"),
      } as APIChannel;
      this.#threads.set(thread.id, m[1]);
      return json(thread, 201, limits);
    }
    if (method === "POST" && (m = route.match(/^\/channels\/(\d+)\/messages$/))) {
      return json(this.#botMessage(m[1], call), 200, limits);
    }
    if (method === "PATCH" && (m = route.match(/^\/channels\/(\d+)\/messages\/(\d+)$/))) {
      return json({ ...this.#botMessage(m[1], call), id: m[2] }, 200, limits);
    }
    if (method === "POST" && isCallback) {
      if (url.searchParams.get("with_response") === "true") {
        return json(
          { interaction: { id: route.split("/")[2], type: 3 }, resource: { type: call.body.type } },
          200,
        );
      }
      return new Response(null, { status: 204 });
    }
    return json({ message: "404: Not Found", code: 0 }, 404);
  }

  /** A thread started here, or one made with {@link addThread}; any other id is a guild text channel. */
  #channel(id: string): APIChannel {
    const parent = this.#threads.get(id);
    return (parent
      ? { id, type: ChannelType.PublicThread, guild_id: "0", parent_id: parent, name: "thread" }
      : { id, type: ChannelType.GuildText, guild_id: "0", name: "general" }) as APIChannel;
  }

  /** Makes `threadId` a thread of `parentId` (one a user started). */
  addThread(threadId: string, parentId: string): void {
    this.#threads.set(threadId, parentId);
  }

  #botMessage(channelId: string, call: DiscordCall): APIMessage {
    const files = Object.values(call.files);
    return {
      id: this.snowflake(),
      channel_id: channelId,
      author: this.bot,
      content: String(call.body.content ?? ""),
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: files.map((f, i) => ({
        id: String(i),
        filename: f.name,
        size: f.bytes.length,
        url: `${this.apiRoot}/attachments/sent/${f.name}`,
        proxy_url: `${this.apiRoot}/attachments/sent/${f.name}`,
      })),
      embeds: [],
      pinned: false,
      type: MessageType.Default,
      components: (call.body.components ?? []) as APIMessage["components"],
    };
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

function json(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_HEADERS, ...headers } });
}
