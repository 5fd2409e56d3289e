/**
 * The fuzz tests' runner and hostile-input arbitraries. Every property runs
 * from a fixed seed (so a run is deterministic), a bounded number of times
 * and within a time budget; a failure names the seed and how to replay it.
 *
 * Environment:
 * - `IRONCLAW_FUZZ_SEED=<n>`: the seed (default {@linkcode DEFAULT_SEED}).
 * - `IRONCLAW_FUZZ_RUNS=<n>`: runs per property instead of each property's default (deep runs).
 * - `IRONCLAW_FUZZ_TIME_MS=<n>`: time budget per property (default 12 s; 10 min once RUNS is set).
 * - `IRONCLAW_FUZZ_ONLY=<text>`: runs only the properties whose name holds `text` (the others pass at once).
 * - `IRONCLAW_FUZZ_PATH=<path>`: replays one shrunk counterexample (with its seed and `IRONCLAW_FUZZ_ONLY`).
 *
 * @module
 */
import fc from "fast-check";

/** The seed every run uses unless `IRONCLAW_FUZZ_SEED` says otherwise. */
export const DEFAULT_SEED = 0x1c1a_5eed;

function envNumber(name: string): number | undefined {
  const text = Deno.env.get(name)?.trim();
  if (!text) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new Error(`${name} must be an integer, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** The settings of this run. */
export const FUZZ = {
  seed: envNumber("IRONCLAW_FUZZ_SEED") ?? DEFAULT_SEED,
  runs: envNumber("IRONCLAW_FUZZ_RUNS"),
  timeMs: envNumber("IRONCLAW_FUZZ_TIME_MS") ?? (envNumber("IRONCLAW_FUZZ_RUNS") ? 600_000 : 12_000),
  path: Deno.env.get("IRONCLAW_FUZZ_PATH")?.trim() || undefined,
  only: Deno.env.get("IRONCLAW_FUZZ_ONLY") || undefined,
};

/** A stable 31-bit hash, to give each property of a run its own seed derived from the run's. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 1;
}

/** What a fuzz run reports. */
export interface FuzzStats {
  runs: number;
  interrupted: boolean;
}

/**
 * Checks `property` `numRuns` times (or `IRONCLAW_FUZZ_RUNS`) from the run's
 * seed mixed with `name`. On failure, throws an error that starts with
 * `seed=<n>` and the command that replays it, then fast-check's report
 * (counterexample, shrunk, with its own seed and path).
 */
export async function fuzz<Ts extends unknown[]>(
  name: string,
  property: fc.IAsyncPropertyWithHooks<Ts> | fc.IPropertyWithHooks<Ts>,
  numRuns: number,
  replayHint: string,
): Promise<FuzzStats> {
  if (FUZZ.only !== undefined && !name.includes(FUZZ.only)) return { runs: 0, interrupted: false };
  const seed = (FUZZ.seed ^ hash(name)) | 0;
  const details = await fc.check(property as fc.IAsyncPropertyWithHooks<Ts>, {
    seed,
    numRuns: FUZZ.runs ?? numRuns,
    ...(FUZZ.path ? { path: FUZZ.path, endOnFailure: true } : {}),
    plugins: [fc.interruptAfterTimeLimit(FUZZ.timeMs)],
  });
  if (details.failed) {
    const replay = `IRONCLAW_FUZZ_SEED=${FUZZ.seed} ${replayHint}`;
    const head = [
      `fuzz property "${name}" failed: seed=${FUZZ.seed} (property seed ${seed}, path ${details.counterexamplePath})`,
      `replay: ${replay}`,
      `replay only the shrunk case: IRONCLAW_FUZZ_ONLY='${name}' IRONCLAW_FUZZ_PATH=${details.counterexamplePath} ${replay}`,
    ].join("\n");
    const cause = details.errorInstance instanceof Error
      ? details.errorInstance.message
      : String(details.errorInstance);
    console.error(head);
    throw new Error(`${head}\n${fc.defaultReportMessage(details) ?? ""}\nerror: ${cause}`);
  }
  return { runs: details.numRuns, interrupted: details.interrupted };
}

// ---------------------------------------------------------------------------
// Hostile strings.

/** Code units and sequences that break naive text handling. */
export const NASTY_PIECES: readonly string[] = [
  "\0",
  "\uD800", // lone high surrogate
  "\uDFFF", // lone low surrogate
  "\uDBFF\uD800", // two highs
  "\u202E", // right-to-left override
  "\u2066", // left-to-right isolate
  "\u200B", // zero-width space
  "\uFEFF", // byte-order mark
  "e\u0301\u0301\u0301", // stacked combining accents
  "\u0301", // a combining mark with nothing to combine with
  "\u{1F600}",
  "\u{10FFFF}",
  "\uFFFE",
  "\uFFFD",
  "\x7F",
  "\x85", // C1 next line
  "\u2028",
  "\u2029",
  "\r\n",
  "\n",
  "\t",
  "\x1b[31m",
  "%",
  "%00",
  "%zz",
  "%2e%2e%2f",
  "%2F",
  "%252e",
  "../",
  "..",
  "..\\",
  "/",
  "\\",
  "//",
  "./",
  "~",
  "~root",
  "/etc/passwd",
  "../../../../etc/passwd",
  "..%2F..%2Fetc%2Fpasswd",
  "C:\\Windows\\system32",
  "\\\\?\\C:\\",
  "$(id)",
  "`id`",
  "${IFS}",
  "; rm -rf /",
  "| cat /etc/shadow",
  "&& curl evil.example",
  "> /tmp/x",
  "'",
  '"',
  "' OR '1'='1",
  "'; DROP TABLE changes; --",
  "<script>alert(1)</script>",
  "{{7*7}}",
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "NaN",
  "null",
  "undefined",
  "true",
  "-1",
  "1e309",
  "0x10",
  " ",
  "",
];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const control = fc.integer({ min: 0, max: 0x9f }).filter((c) => c < 0x20 || c >= 0x7f)
  .map((c) => String.fromCharCode(c));
/** One "character": any code point, a lone surrogate, a control, or a nasty piece. */
const hostileUnit = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: loneSurrogate },
  { weight: 1, arbitrary: control },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_PIECES) },
);

/** A string built from hostile units, up to `maxLength` of them. */
export function hostileString(maxLength = 24): fc.Arbitrary<string> {
  return fc.string({ unit: hostileUnit, maxLength });
}

/** `good` spliced with hostile text: before, after or instead of part of it. */
export function spliced(good: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(good, fc.constantFrom(...NASTY_PIECES), fc.nat(), fc.boolean()).map(
    ([text, piece, at, replace]) => {
      const i = at % (text.length + 1);
      return text.slice(0, i) + piece + text.slice(replace ? i + 1 : i);
    },
  );
}

/** Long strings, from long-ish to larger than the API's body cap. */
export const longString: fc.Arbitrary<string> = fc.tuple(
  fc.constantFrom(1_000, 70_000, 200_000, 270_000, 1_100_000),
  fc.constantFrom("a", "é", "\u{1F600}", "\0", "../", "\uD800"),
).map(([n, piece]) => piece.repeat(Math.ceil(n / piece.length)));

/** Any string, most often a hostile one. */
export function anyString(plausible: readonly string[] = []): fc.Arbitrary<string> {
  const arbs: fc.WeightedArbitrary<string>[] = [
    { weight: 5, arbitrary: hostileString() },
    { weight: 2, arbitrary: fc.constantFrom(...NASTY_PIECES) },
    { weight: 1, arbitrary: fc.string() },
  ];
  if (plausible.length > 0) {
    arbs.push({ weight: 5, arbitrary: fc.constantFrom(...plausible) });
    arbs.push({ weight: 2, arbitrary: spliced(fc.constantFrom(...plausible)) });
  }
  return fc.oneof(...arbs);
}

/** JSON-ish values, deeply nested up to `depth` (objects may carry hostile keys). */
export function hostileJson(depth = 4): fc.Arbitrary<unknown> {
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: "small", withCrossShrink: true, maxDepth: depth },
      fc.constant(null),
      fc.boolean(),
      fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, 1e308, -1e308, 2 ** 53 + 1, 5e-324)),
      anyString(),
      fc.array(tie("value"), { maxLength: 4 }),
      fc.dictionary(anyString(), tie("value"), { maxKeys: 4 }),
    ),
  }));
  return value;
}

/** Text `depth` arrays or objects deep. */
export function nestedJsonText(depth: number, kind: "array" | "object"): string {
  return kind === "array"
    ? "[".repeat(depth) + "]".repeat(depth)
    : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
}
