/**
 * What both SDK backends share: the client shell around one provider call,
 * and the mapping of the SDKs' error classes (both SDKs are generated from
 * the same template, so their classes line up) to {@link ModelError}.
 *
 * @module
 */
import type { ProviderKind } from "../../contract/sockets.ts";
import {
  clientFailure,
  type ConverseOptions,
  type ConverseRequest,
  type ModelClient,
  ModelError,
  type Turn,
} from "./conversation.ts";
import { ON_REQUEST_SENT, type SentNotice } from "./unix_fetch.ts";

/** An SDK's API error: the HTTP status and the provider's error type. */
export interface SdkApiError extends Error {
  status: number | undefined;
  type?: string | null;
}

/** The error classes an SDK exports, and how to name one of its API errors. */
export interface SdkErrors<E extends SdkApiError> {
  APIUserAbortError: abstract new (...args: never[]) => Error;
  APIConnectionError: abstract new (...args: never[]) => Error;
  APIError: abstract new (...args: never[]) => E;
  /** The loggable kind and the message of an API error. */
  describe(err: E): { kind: string; message: string };
}

/** A {@link ModelClient} whose every failure, whatever its source, is a {@link ModelError}. */
export function sdkModelClient<E extends SdkApiError>(
  info: { provider: ProviderKind; model: string },
  errors: SdkErrors<E>,
  call: (request: ConverseRequest, options: SdkRequestOptions) => Promise<Turn>,
): ModelClient {
  return {
    provider: info.provider,
    model: info.model,
    async converse(request, options = {}) {
      try {
        return await call(request, sdkRequestOptions(options));
      } catch (err) {
        throw asModelError(err, errors);
      }
    },
  };
}

/** The per-request options both SDKs take: the signal, and `fetchOptions` that reach our `fetch` as its init. */
export interface SdkRequestOptions {
  signal?: AbortSignal;
  fetchOptions: SentNotice;
}

function sdkRequestOptions({ signal, onSent }: ConverseOptions): SdkRequestOptions {
  // The SDKs spread fetchOptions into the init they give fetch, so the notice reaches the unix-socket fetch.
  return { signal, fetchOptions: onSent ? { [ON_REQUEST_SENT]: onSent } : {} };
}

function asModelError<E extends SdkApiError>(err: unknown, errors: SdkErrors<E>): ModelError {
  if (err instanceof ModelError) return err;
  if (err instanceof errors.APIUserAbortError) return new ModelError("model call aborted", "aborted");
  if (err instanceof errors.APIConnectionError) {
    return new ModelError(`cannot reach the model proxy: ${err.message}`, "connection", undefined, {
      cause: err,
    });
  }
  if (err instanceof errors.APIError) {
    const { kind, message } = errors.describe(err);
    return new ModelError(message, kind, err.status, { cause: err });
  }
  return clientFailure(err);
}
