/**
 * Host-owned unix sockets shared with a session's sandbox, all inside the
 * layout's `socketDir`. One set per session, so the host knows who is calling
 * from which socket was used: no identity header is trusted.
 *
 * @module
 */

/** The model proxy: HTTP/1.1; the request's Host names the upstream. */
export const MODEL_SOCKET_NAME = "model.sock";

/** The egress broker: HTTP/1.1 JSON calls for `http_fetch` and `web_search` (see `egress.ts`). */
export const EGRESS_SOCKET_NAME = "egress.sock";

/**
 * The MCP broker: HTTP/1.1 JSON calls that list and call the MCP tools the
 * session's agent group was granted (see `mcp.ts`).
 */
export const MCP_SOCKET_NAME = "mcp.sock";

/** The doorbell: a byte stream of wake signals in both directions. */
export const DOORBELL_SOCKET_NAME = "doorbell.sock";

/**
 * Doorbell bytes. The host writes {@link DOORBELL.inbound} when an inbound row
 * is waiting; the agent writes {@link DOORBELL.outbound} after it appends an
 * outbound row. Either side polls as a fallback when the bell is silent.
 */
export const DOORBELL = { inbound: 0x69, outbound: 0x6f } as const;

/**
 * The claim socket of a warm spare (`--spare=1`): a sandbox booted before
 * any session is its own, with no key, no queue and nothing of any
 * conversation. The agent connects at start and waits. When a session
 * claims the spare, the host first makes that session's queues, workspace
 * and sockets appear in the directories the spare has bound, then writes
 * one line, {@link claimLine}, and hangs up; the agent runs from then on
 * exactly like a freshly launched one. A hang-up without a line means the
 * spare was discarded: the agent exits. The host never claims a spare twice.
 */
export const CLAIM_SOCKET_NAME = "claim.sock";

/** The claim's one line: the session key as 64 hex characters and a newline (what a key file holds). */
export function claimLine(keyHex: string): string {
  if (!/^[0-9a-f]{64}$/.test(keyHex)) throw new Error("a claim carries a session key as 64 hex characters");
  return `${keyHex}\n`;
}

/**
 * The queue lease: the host is the lock authority over a session's two queue
 * files, because SQLite's POSIX locks do not cross a gVisor boundary (the
 * Sentry keeps the agent's locks to itself). The agent holds a lease around
 * every transaction it runs on either file, its opens included.
 */
export const LEASE_SOCKET_NAME = "lease.sock";

/**
 * Lease bytes, in strict lockstep per connection: the agent sends
 * {@link LEASE.acquire}, waits for {@link LEASE.granted}, runs its
 * transaction, then sends {@link LEASE.release}. Any other byte, an acquire
 * while one is pending or held, or a release of nothing is refused: the host
 * hangs up, which also ends whatever lease the connection held. A hang-up is
 * the only way the host revokes a lease (after {@link LEASE_CAP_MS}).
 *
 * Fewer crossings per turn (each one wakes a blocked side, dear under
 * gVisor's ptrace), optional for the agent (one that never sends them gets
 * the bare protocol above, and the doorbell as before):
 *
 * - {@link LEASE.outbound}, at any time (sent in one write with a release):
 *   outbound rows are waiting, as the doorbell's `o` says.
 * - {@link LEASE.idle}, only while the connection has no lease and asks for
 *   none: the agent waits for the bell, and the host's next ring may grant
 *   it the lease. The host then sends {@link LEASE.bell} instead of ringing
 *   the doorbell: inbound rows are waiting *and* the connection holds the
 *   lease (capped like any other), so the agent's turn starts without an
 *   acquire. An acquire, or the one bell, ends the arming: an agent busy
 *   outside its turns (in a model call) is never granted. An acquire that
 *   crosses the bell (sent before the agent read it) joins that lease: the
 *   bell is its answer, no {@link LEASE.granted} follows.
 */
export const LEASE = {
  acquire: 0x61,
  release: 0x72,
  granted: 0x67,
  outbound: 0x6f,
  idle: 0x69,
  bell: 0x62,
} as const;

/**
 * The longest a lease lasts. After it the host hangs up on the holder and
 * takes the files back (it already treats outbound as untrusted), so a hung
 * or hostile agent cannot stall the host. An honest agent's transactions are
 * a few small statements.
 */
export const LEASE_CAP_MS = 5000;

/**
 * The offline mock model's upstream host. It speaks the Anthropic Messages
 * API (and OpenAI Chat Completions) through the same proxy as real
 * providers, so dev mode exercises the agent's real SDK path.
 */
export const MOCK_MODEL_HOST = "mock.ironclaw.internal";

/**
 * The model proxy's refusal of a call over the agent group's daily budget:
 * this status, and this error `type` in the body (`{error: {type, message}}`,
 * both SDKs read it); the message says what was spent and when it resets.
 * Final for the turn: retrying cannot succeed before the reset.
 */
export const MODEL_BUDGET_ERROR = { status: 402, type: "budget_exceeded" } as const;

/** Default upstream hosts of the providers the agent knows. */
export const PROVIDER_HOSTS = {
  anthropic: "api.anthropic.com",
  openai: "api.openai.com",
  openrouter: "openrouter.ai",
  mock: MOCK_MODEL_HOST,
} as const;

/** A provider kind. */
export type ProviderKind = keyof typeof PROVIDER_HOSTS;
