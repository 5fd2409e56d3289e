/**
 * The SSRF guard: where a fetch may connect. The broker resolves names
 * itself, checks every address it got *after* resolution, and hands back the
 * address it checked, which is the one it connects to: there is no second
 * lookup for a rebinding DNS server to answer differently.
 *
 * Only globally routable unicast addresses pass. Loopback, private, link-local
 * (the cloud metadata address `169.254.169.254` among them), carrier-grade
 * NAT, multicast, broadcast, reserved, unspecified, IPv4-mapped and
 * IPv4-embedding IPv6 (NAT64, 6to4, Teredo) are refused. Alternative
 * spellings (`0x7f000001`, `2130706433`, `017700000001`, `127.1`,
 * `[::ffff:127.0.0.1]`) are parsed as the addresses they are, both by the URL
 * parser and here.
 *
 * The operator may let one private service through by exact `host:port`
 * (`serve --egress-allow-private`); nothing in a request can widen that.
 *
 * @module
 */
import ipaddr from "ipaddr.js";

/** A refused destination; the message says why, in one line, for the agent. */
export class EgressRefused extends Error {
  override name = "EgressRefused";
}

/** Looks up a name's addresses (A and AAAA). Injected so tests can play a hostile DNS server. */
export type Resolver = (hostname: string) => Promise<string[]>;

/** The system resolver: A and AAAA records, IPv4 first. A name with neither is an empty list. */
export const systemResolver: Resolver = async (hostname) => {
  const lookups = await Promise.allSettled([
    Deno.resolveDns(hostname, "A"),
    Deno.resolveDns(hostname, "AAAA"),
  ]);
  return lookups.flatMap((r) => r.status === "fulfilled" ? r.value : []);
};

/** Where to connect: the checked address, with the name TLS verifies against. */
export interface CheckedTarget {
  /** The URL's host name, lower-case, IPv6 without brackets (TLS verifies the certificate against it). */
  hostname: string;
  port: number;
  /** The address that passed the check: connect to this one, never to `hostname`. */
  address: string;
}

/** True when `address` is globally routable unicast (the only kind a fetch may reach by default). */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.parse(address).range() === "unicast";
}

/** The operator's exceptions: exact `host:port` pairs that may be private. */
export class PrivateAllowance {
  readonly #entries: ReadonlySet<string>;

  /** `entries` as given to `--egress-allow-private` (already validated by {@link parseAllowPrivate}). */
  constructor(entries: readonly string[] = []) {
    this.#entries = new Set(entries);
  }

  /** True when `hostname:port` was let through exactly. */
  allows(hostname: string, port: number): boolean {
    return this.#entries.has(hostPort(hostname, port));
  }

  /** The entries, for the start-up log. */
  list(): string[] {
    return [...this.#entries];
  }
}

function hostPort(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/**
 * Parses `HOST:PORT[,HOST:PORT…]` into normalised entries (host lower-case,
 * IP spellings canonical, IPv6 in brackets). Throws a one-line error naming
 * the bad entry and the expected form.
 */
export function parseAllowPrivate(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s !== "").map((entry) => {
    const url = URL.parse(`http://${entry}/`);
    const explicitPort = /:(\d+)$/.exec(entry)?.[1];
    if (!url || explicitPort === undefined || url.username || url.password || url.pathname !== "/") {
      throw new Error(
        `--egress-allow-private: ${JSON.stringify(entry)} is not HOST:PORT (e.g. 127.0.0.1:8080,[::1]:9000)`,
      );
    }
    return hostPort(bareHostname(url.hostname), Number(explicitPort));
  });
}

/** `url.hostname` without IPv6 brackets. */
export function bareHostname(hostname: string): string {
  return hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
}

/** The port `url` addresses (the scheme's default when none is written). */
export function portOf(url: URL): number {
  return url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
}

/**
 * Resolves `url`'s host once and checks every address. Refuses (with
 * {@link EgressRefused}) a name with no address, or one where any address is
 * not public, unless the operator allowed that exact `host:port`. Returns
 * the first address, which the caller must connect to.
 */
export async function checkTarget(
  url: URL,
  options: { resolve: Resolver; allowPrivate: PrivateAllowance },
): Promise<CheckedTarget> {
  const hostname = bareHostname(url.hostname);
  const port = portOf(url);
  // A literal needs no lookup; ipaddr also reads the spellings a URL parser might have left alone.
  const addresses = ipaddr.isValid(hostname)
    ? [ipaddr.parse(hostname).toString()]
    : await options.resolve(hostname).catch(() => []);
  if (addresses.length === 0) throw new EgressRefused(`egress: ${hostname} does not resolve`);
  if (!options.allowPrivate.allows(hostname, port)) {
    // Every address, not just the first: a name that also points inward is refused whole.
    const inward = addresses.find((a) => !isPublicAddress(a));
    if (inward !== undefined) {
      throw new EgressRefused(
        `egress: ${hostname} resolves to ${inward}, a ${
          rangeOf(inward)
        } address; only public addresses are reachable`,
      );
    }
  }
  return { hostname, port, address: addresses[0] };
}

function rangeOf(address: string): string {
  return ipaddr.isValid(address) ? ipaddr.parse(address).range() : "malformed";
}
