/**
 * A fake host for agent-loop tests: real encrypted queue files in a temp
 * dir, a fake model server on a unix socket (driven by the real SDK), and
 * helpers to write inbound rows and read what the agent wrote.
 *
 * @module
 */
import {
  openInboundWriter,
  openOutboundReader,
  provisionSession,
  type QueuePaths,
} from "../../contract/queue/host.ts";
import { openInboundReader, openOutboundWriter, type OutboundWriter } from "../../contract/queue/sandbox.ts";
import type { InboundWriter } from "../../contract/queue/mod.ts";
import type { MessageOut, NewMessageIn, ProcessingAck, SessionRouting } from "../../contract/rows.ts";
import { jsonLogger } from "../../sandbox-agent/log.ts";
import {
  AgentLoop,
  type Doorbell,
  Heartbeat,
  type HistoryLimits,
  ModelBreaker,
  type QueueLease,
  STATE_KEYS,
  systemPrompt,
} from "../../sandbox-agent/loop/mod.ts";
import { createModelClient, type Message } from "../../sandbox-agent/model/mod.ts";
import { builtinRegistry, Jail, type McpTools } from "../../sandbox-agent/tools/mod.ts";
import { type FakeModelServer, type Responder, serveFakeModel } from "./agent_model_server.ts";
import { fixedKey, LIBRARY } from "./mod.ts";

/** Where the harness's conversation lives. */
export const ROUTING: SessionRouting = { channelType: "slack", platformId: "C123", threadId: null };

const OPTS = { library: LIBRARY, key: fixedKey(0x11) };

/** What a harness may vary. */
export interface HarnessOptions {
  respond?: Responder;
  persona?: string;
  enabledTools?: string[];
  maxModelTurns?: number;
  historyLimits?: HistoryLimits;
  breaker?: ModelBreaker;
  pollMs?: number;
  doorbell?: Doorbell;
  /** The queue lease the loop's turns run in (default: none, every call at once). */
  lease?: QueueLease;
  /** The MCP broker's side the loop asks for granted tools. */
  mcp?: Pick<McpTools, "list">;
}

/** One log line, parsed. */
export interface LogEntry {
  level: string;
  event: string;
  [field: string]: unknown;
}

/** A session with a fake host and a fake model. */
export class LoopHarness implements AsyncDisposable {
  readonly dir: string;
  readonly paths: QueuePaths;
  readonly host: InboundWriter;
  readonly server: FakeModelServer;
  readonly logLines: string[] = [];
  readonly options: HarnessOptions;
  #close: (() => void) | undefined;

  private constructor(
    dir: string,
    paths: QueuePaths,
    host: InboundWriter,
    server: FakeModelServer,
    options: HarnessOptions,
  ) {
    this.dir = dir;
    this.paths = paths;
    this.host = host;
    this.server = server;
    this.options = options;
  }

  /** Provisions a session, seeds its routing and starts the fake model. */
  static async start(options: HarnessOptions = {}): Promise<LoopHarness> {
    const dir = Deno.makeTempDirSync({ prefix: "ironclaw-agent-" });
    const paths = provisionSession(`${dir}/queues`, "ses_test", OPTS);
    const host = openInboundWriter(paths.inbound, OPTS);
    host.setSessionRouting(ROUTING);
    for (const sub of ["workspace", "memory"]) Deno.mkdirSync(`${dir}/${sub}`);
    const server = await serveFakeModel(`${dir}/model.sock`, options.respond);
    return new LoopHarness(dir, paths, host, server, options);
  }

  /**
   * A fresh loop over freshly opened queues, as after a restart (the previous
   * one's handles are closed). `privateLocks` opens outbound as the agent
   * does under gVisor; `wrapOutbound` lets a test or bench watch its writer.
   */
  loop(
    options: { privateLocks?: boolean; wrapOutbound?: (writer: OutboundWriter) => OutboundWriter } = {},
  ): AgentLoop {
    this.#close?.();
    const inbound = openInboundReader(this.paths.inbound, OPTS);
    const opened = openOutboundWriter(this.paths.outbound, { ...OPTS, privateLocks: options.privateLocks });
    const outbound = options.wrapOutbound?.(opened) ?? opened;
    this.#close = () => {
      inbound.close();
      opened.close();
    };
    const log = jsonLogger((line) => this.logLines.push(line));
    const persona = this.options.persona ?? "";
    return new AgentLoop({
      inbound,
      outbound,
      model: createModelClient({ provider: "mock", socketPath: `${this.dir}/model.sock` }),
      tools: builtinRegistry(this.options.enabledTools),
      systemPrompt: systemPrompt(persona),
      workspace: new Jail(`${this.dir}/workspace`),
      memory: new Jail(`${this.dir}/memory`),
      persona,
      heartbeat: new Heartbeat(this.paths.heartbeat, { log }),
      log,
      pollMs: this.options.pollMs ?? 1000,
      doorbell: this.options.doorbell,
      lease: this.options.lease,
      mcp: this.options.mcp,
      maxModelTurns: this.options.maxModelTurns,
      breaker: this.options.breaker,
      historyLimits: this.options.historyLimits,
    });
  }

  /** Closes the last loop's queue handles (an agent holding private locks keeps the host out of outbound). */
  release(): void {
    this.#close?.();
    this.#close = undefined;
  }

  /** Writes an inbound message (trigger 1 and kind chat unless given). */
  write(message: Partial<NewMessageIn> & { id: string; content: string }): void {
    this.host.writeMessageIn({ kind: "chat", ...message });
  }

  /** Everything the agent has written, in seq order. */
  outbound(): MessageOut[] {
    using reader = openOutboundReader(this.paths.outbound, OPTS);
    return reader.dueMessages().messages;
  }

  /** The agent's acknowledgements. */
  acks(): ProcessingAck[] {
    using reader = openOutboundReader(this.paths.outbound, OPTS);
    return reader.processingAcks();
  }

  /** The agent's session state. */
  state(): Record<string, string> {
    using reader = openOutboundReader(this.paths.outbound, OPTS);
    return reader.sessionState();
  }

  /** The saved history rows' exchanges (`loop.history.<slot>`), oldest first. */
  history(): Message[][] {
    const state = this.state();
    return Object.keys(state).filter((key) => key.startsWith(STATE_KEYS.historyPrefix))
      .map((key) => JSON.parse(state[key]) as { n: number; exchange: Message[] })
      .sort((a, b) => a.n - b.n).map((row) => row.exchange);
  }

  /** Parsed log lines. */
  logs(): LogEntry[] {
    return this.logLines.map((line) => JSON.parse(line));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#close?.();
    this.host.close();
    await this.server.close();
    Deno.removeSync(this.dir, { recursive: true });
  }
}
