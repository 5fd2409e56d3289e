/**
 * The API's bearer token: `$IRONCLAW_API_TOKEN` when set, else the one kept in
 * `<state-dir>/api-token` (0600), minted on first run.
 *
 * @module
 */
import { createPrivateFile, privateFileProblem } from "../keys/mod.ts";

/** The token file's name inside the state directory. */
export const API_TOKEN_FILE = "api-token";

/** Where the token came from; `minted` means it was just created and should be shown once. */
export interface ApiToken {
  token: string;
  source: "environment" | "file" | "minted";
}

/** Resolves (or mints) the API token for `stateDir`. */
export async function resolveApiToken(
  stateDir: string,
  env = Deno.env.get("IRONCLAW_API_TOKEN"),
): Promise<ApiToken> {
  if (env) {
    if (env.length < 16) throw new Error("IRONCLAW_API_TOKEN must be at least 16 characters");
    return { token: env, source: "environment" };
  }
  const path = `${stateDir}/${API_TOKEN_FILE}`;
  try {
    const problem = privateFileProblem(path, await Deno.stat(path));
    if (problem) throw new Error(`${path} ${problem}`);
    const token = (await Deno.readTextFile(path)).trim();
    if (token.length >= 16) return { token, source: "file" };
    throw new Error(`${path} holds no usable token; delete it to mint a new one`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const token = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  await createPrivateFile(path, new TextEncoder().encode(`${token}\n`));
  return { token, source: "minted" };
}

/** Reads the token a client should use: `$IRONCLAW_API_TOKEN`, else the state directory's file, else undefined. */
export function readClientToken(stateDir: string): string | undefined {
  const env = Deno.env.get("IRONCLAW_API_TOKEN");
  if (env) return env;
  try {
    return Deno.readTextFileSync(`${stateDir}/${API_TOKEN_FILE}`).trim() || undefined;
  } catch {
    return undefined;
  }
}
