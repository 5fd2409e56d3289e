/**
 * The timer slack of a gVisor sandbox's host processes.
 *
 * runsc's Sentry and gofer are Go programs. Go's monitor thread (`sysmon`)
 * sleeps 20 µs at a time while any of the program's threads is busy or in a
 * system call, and backs off only after ~50 such rounds; under the ptrace
 * platform a Sentry's threads sit in `wait4` whenever the agent runs, and
 * every step of a turn wakes it from idle, so its monitor starts over at
 * 20 µs many times a turn (the gofer's likewise, around each of its calls).
 * Measured with `perf` (`sched:sched_switch`) at ten sessions on 2 cores:
 * the monitors' sleeps were half of the sandboxes' context switches, each a
 * timer and two switches, dear on a virtual machine.
 *
 * A thread's timer slack lets the kernel fire its timers up to that much
 * later, so nearby timers are served by one wake-up. With 1 ms the monitor's
 * rounds stretch to ~1 ms: at ten sessions the sandboxes' context switches
 * per warm turn halve and their CPU per turn falls by about a third (the
 * commit that added this has the measurements). What the agent sees
 * is only that a timer of its own (a `setTimeout`, a poll) may fire up to
 * 1 ms late; it gains nothing.
 *
 * The slack is per thread and inherited by every thread and process a thread
 * starts, and runsc neither reads nor resets it: so the sandbox is spawned
 * from this thread with its slack raised, and this thread's own slack is
 * restored as soon as the spawn returns (the spawn is synchronous).
 *
 * @module
 */

/** The timer slack of every host thread of a runsc sandbox (Sentry, gofer, ptrace stubs). */
export const SANDBOX_TIMER_SLACK_NS = 1_000_000;

// prctl(2) options.
const PR_SET_TIMERSLACK = 29;
const PR_GET_TIMERSLACK = 30;

type Prctl = (option: number, arg: bigint) => number;
let prctl: Prctl | null | undefined;

/** libc's prctl, loaded once; null where libc cannot be opened. */
function loadPrctl(): Prctl | null {
  if (prctl !== undefined) return prctl;
  try {
    const libc = Deno.dlopen("libc.so.6", {
      prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
    });
    prctl = (option, arg) => libc.symbols.prctl(option, arg, 0n, 0n, 0n);
  } catch {
    prctl = null;
  }
  return prctl;
}

/** What {@link withTimerSlack} gives back. */
export interface SlackSpawn<T> {
  /** What `spawn` returned. */
  value: T;
  /** Whether the slack was in force during `spawn` (false where prctl is unavailable or refused it). */
  applied: boolean;
}

/**
 * Runs `spawn` (which must start its child synchronously, as
 * `Deno.Command#spawn` does) with this thread's timer slack set to `ns`
 * nanoseconds, so the child and all it starts inherit that slack; this
 * thread's slack is put back before returning, even when `spawn` throws.
 * Where the slack cannot be set, `spawn` still runs, and `applied` says so.
 *
 * @example
 * ```ts
 * import { withTimerSlack } from "./timer_slack.ts";
 * const { value: child } = withTimerSlack(1_000_000, () =>
 *   new Deno.Command("cat", { args: ["/proc/self/timerslack_ns"], stdout: "piped" }).spawn());
 * const out = new TextDecoder().decode((await child.output()).stdout);
 * console.assert(out.trim() === "1000000");
 * ```
 */
export function withTimerSlack<T>(ns: number, spawn: () => T): SlackSpawn<T> {
  if (!Number.isSafeInteger(ns) || ns <= 0) {
    throw new RangeError(`timer slack must be a positive integer of ns: ${ns}`);
  }
  const call = loadPrctl();
  const own = call?.(PR_GET_TIMERSLACK, 0n) ?? -1;
  // 0 would mean "this thread's default" to the kernel, never a value we could read back, so a failed read skips.
  const applied = own > 0 && call!(PR_SET_TIMERSLACK, BigInt(ns)) === 0;
  try {
    return { value: spawn(), applied };
  } finally {
    if (applied) call!(PR_SET_TIMERSLACK, BigInt(own));
  }
}
