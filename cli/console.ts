/**
 * `ironclaw console`: a one-time sign-in link for the web console of the
 * running control plane, so the API token need not be pasted into a browser.
 *
 * @module
 */
import type { Command } from "commander";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { type CliIo, printJson } from "./output.ts";
import { isLoopbackHost } from "./serve.ts";

/** Asks the API for a link and prints it with how long it lasts. */
export async function consoleLink(client: ApiClient): Promise<{ url: string; expiresAt: string }> {
  const link = await client.call((api) => api.v1.console.links.$post());
  return { url: `${client.baseUrl}${link.path}`, expiresAt: link.expiresAt };
}

/**
 * What to say when `url` is plain HTTP to a name that is not loopback: the
 * console's session cookie is `Secure` there, so a browser keeps it only
 * over HTTPS.
 */
export function httpsNote(url: string): string | undefined {
  const { protocol, hostname } = new URL(url);
  if (protocol !== "http:" || isLoopbackHost(hostname)) return undefined;
  return `${hostname} is not loopback: there the console's cookie is Secure and needs HTTPS ` +
    "(put TLS in front of serve and pass its name on with serve --api-host NAME).";
}

/** Registers `console`. */
export function registerConsoleCommand(program: Command, io: CliIo): void {
  withClientFlags(
    program.command("console")
      .description(
        "print a one-time sign-in link for the web console (/ui/); it works once, within 5 minutes",
      )
      .option("--json", "machine-readable output"),
  ).action(async (opts: ClientFlags & { json?: boolean }) => {
    const link = await consoleLink(ApiClient.fromFlags(opts));
    if (opts.json) return printJson(io, link);
    io.out(`Open this link in your browser (it works once, until ${link.expiresAt}):`);
    io.out(link.url);
    io.out("Or open /ui/ and paste the API token.");
    const note = httpsNote(link.url);
    if (note) io.out(note);
  });
}
