/**
 * The SDK's transport to a stdio server running in a sandbox of its own:
 * newline-delimited JSON-RPC over the sandboxed program's stdin and stdout
 * (the SDK's own framing), the sandbox stopped when the client closes, and
 * the client told when the server ends by itself (so the next use starts it
 * afresh).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import type { ToolServerProcess } from "../../isolator/mod.ts";

/** A {@link Transport} over a sandboxed server that `launch` starts. */
export class SandboxedStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly #launch: () => Promise<ToolServerProcess>;
  readonly #buffer = new ReadBuffer();
  #server?: ToolServerProcess;
  #writer?: WritableStreamDefaultWriter<Uint8Array>;
  #closed = false;
  #exit?: string;

  constructor(launch: () => Promise<ToolServerProcess>) {
    this.#launch = launch;
  }

  async start(): Promise<void> {
    if (this.#server) throw new Error("SandboxedStdioTransport already started");
    const server = this.#server = await this.#launch();
    this.#writer = server.stdin.getWriter();
    void this.#read(server.stdout);
    server.exited.then((status) => {
      this.#exit = `exited with ${status.signal ?? `code ${status.code}`}`;
      this.#ended();
    }, () => this.#ended());
  }

  /**
   * How the server ended by itself, with the last line it wrote to stderr
   * and where its log is; undefined while it runs or when the client closed it.
   */
  exitDetail(): string | undefined {
    if (this.#exit === undefined || !this.#server) return undefined;
    let last = "";
    try {
      last = Deno.readTextFileSync(this.#server.logPath).trim().split("\n").at(-1) ?? "";
    } catch {
      // no log
    }
    return `${this.#exit}${last ? `: ${last.slice(0, 300)}` : ""} (its log: ${this.#server.logPath})`;
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.#writer || this.#closed) throw new Error("the server is not running");
    await this.#writer.write(new TextEncoder().encode(serializeMessage(message)));
  }

  async close(): Promise<void> {
    await this.#writer?.close().catch(() => {});
    await this.#server?.stop();
    this.#ended();
  }

  async #read(stdout: ReadableStream<Uint8Array>): Promise<void> {
    try {
      for await (const chunk of stdout) {
        this.#buffer.append(Buffer.from(chunk));
        for (;;) {
          let message: JSONRPCMessage | null;
          try {
            message = this.#buffer.readMessage();
          } catch (err) {
            // A line that is not JSON-RPC: reported, and the next line read.
            this.onerror?.(err as Error);
            continue;
          }
          if (message === null) break;
          this.onmessage?.(message);
        }
      }
    } catch (err) {
      if (!this.#closed) this.onerror?.(err as Error);
    }
  }

  #ended(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#buffer.clear();
    this.onclose?.();
  }
}
