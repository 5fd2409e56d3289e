/**
 * Provider credentials. The proxy never hands them to the sandbox: it asks a
 * {@link CredentialSource} per request and injects the answer into the
 * upstream request only.
 *
 * @module
 */
import { PROVIDER_HOSTS } from "../../contract/sockets.ts";

/**
 * The secret for an upstream host (lower-cased, as the sandbox addressed
 * it), or undefined when none is configured. Asked on every request, so a
 * vault can rotate secrets without restarting the proxy.
 */
export type CredentialSource = (host: string) => string | undefined;

/** The environment variable holding each provider host's key. */
export const PROVIDER_CREDENTIAL_ENV: Readonly<Record<string, string>> = {
  [PROVIDER_HOSTS.anthropic]: "ANTHROPIC_API_KEY",
  [PROVIDER_HOSTS.openai]: "OPENAI_API_KEY",
  [PROVIDER_HOSTS.openrouter]: "OPENROUTER_API_KEY",
};

/** The Messages API version sent to Anthropic when the agent names none. */
export const ANTHROPIC_VERSION = "2023-06-01";

/** Credentials from environment variables (by default the process environment); empty counts as unset. */
export function envCredentials(
  env: { get(name: string): string | undefined } = Deno.env,
): CredentialSource {
  return (host) => {
    const name = PROVIDER_CREDENTIAL_ENV[host];
    return (name === undefined ? undefined : env.get(name)) || undefined;
  };
}

/**
 * Puts `secret` where the host's API expects it: Anthropic takes `x-api-key`
 * (and needs `anthropic-version`); everyone else a bearer token.
 */
export function injectCredential(headers: Headers, host: string, secret: string): void {
  if (host === PROVIDER_HOSTS.anthropic) {
    headers.set("x-api-key", secret);
    if (!headers.has("anthropic-version")) headers.set("anthropic-version", ANTHROPIC_VERSION);
  } else {
    headers.set("authorization", `Bearer ${secret}`);
  }
}
