/**
 * Names of data keys. Session keys live under `session/<sid>`; the host's own
 * keys have plain names such as `state-db`. A session id cannot contain `/`,
 * so no session can ever be handed a host key by choosing its id.
 *
 * @module
 */
import { isSafeId, type SessionId } from "../../contract/ids.ts";
import { KeyStoreError } from "./errors.ts";

/** A data key's name in the custodian. */
export type KeyId = string & { readonly __brand: "KeyId" };

const SESSION_PREFIX = "session/";

/** The id of a session's queue key. */
export function sessionKeyId(session: SessionId): KeyId {
  if (!isSafeId(session)) {
    throw new KeyStoreError("bad_id", `not a valid session id: ${JSON.stringify(session)}`);
  }
  return `${SESSION_PREFIX}${session}` as KeyId;
}

/** The id of a host data key called `name` (a safe id, e.g. `state-db`). */
export function dataKeyId(name: string): KeyId {
  if (!isSafeId(name)) {
    throw new KeyStoreError("bad_id", `not a valid data key name: ${JSON.stringify(name)}`);
  }
  return name as KeyId;
}

/** The key of the host's encrypted state database. */
export const STATE_DB_KEY_ID: KeyId = dataKeyId("state-db");

/**
 * The key of the audit chain's HMAC. A sealed data key, not a sub-key of the
 * master: the chain must still verify after `ironclaw keys rotate`.
 */
export const AUDIT_KEY_ID: KeyId = dataKeyId("audit-hmac");

/** Checks a stored id: either form above. */
export function parseKeyId(text: string): KeyId {
  return text.startsWith(SESSION_PREFIX)
    ? sessionKeyId(text.slice(SESSION_PREFIX.length) as SessionId)
    : dataKeyId(text);
}
