/**
 * The usage day: counters reset at midnight of a fixed UTC offset the
 * operator configures (default UTC), so a day is the same for every group
 * and does not move with daylight saving.
 *
 * @module
 */

/** The usage days of one host. */
export class UsageDay {
  readonly #offsetMs: number;

  /** `offsetMinutes`: the boundary's offset from UTC (e.g. 60 for midnight at UTC+1). */
  constructor(readonly offsetMinutes = 0) {
    if (!Number.isInteger(offsetMinutes) || Math.abs(offsetMinutes) > 14 * 60) {
      throw new RangeError(`the usage day offset must be whole minutes within ±14 h, not ${offsetMinutes}`);
    }
    this.#offsetMs = offsetMinutes * 60_000;
  }

  /**
   * The day `at` falls in, `YYYY-MM-DD`.
   *
   * @example
   * ```ts
   * import { UsageDay } from "./day.ts";
   * new UsageDay(120).of(new Date("2026-12-07T23:30:00Z")); // "2026-12-08"
   * ```
   */
  of(at: Date): string {
    return new Date(at.getTime() + this.#offsetMs).toISOString().slice(0, 10);
  }

  /** When the day `at` falls in ends (the next reset), as a UTC instant. */
  nextReset(at: Date): Date {
    const start = Date.parse(`${this.of(at)}T00:00:00Z`) - this.#offsetMs;
    return new Date(start + 86_400_000);
  }

  /** The last `days` days up to and including `at`'s, oldest first. */
  recent(at: Date, days: number): string[] {
    return Array.from(
      { length: days },
      (_, i) => this.of(new Date(at.getTime() - (days - 1 - i) * 86_400_000)),
    );
  }
}
