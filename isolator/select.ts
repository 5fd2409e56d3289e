/**
 * Choosing a backend: an explicit choice must work or fails closed; `auto`
 * takes the strongest that passes its check and says why.
 *
 * @module
 */
import { BwrapIsolator, type BwrapOptions } from "./bwrap.ts";
import { IsolatorUnavailableError } from "./errors.ts";
import { KubernetesIsolator, type KubernetesOptions } from "./kubernetes/mod.ts";
import { ProcessIsolator } from "./process.ts";
import { RunscIsolator, type RunscOptions } from "./runsc.ts";
import type { Isolator, IsolatorKind } from "./types.ts";

/** What to ask for. */
export type IsolatorPreference = "auto" | IsolatorKind;

/** Options of every backend (the shared ones once). */
export type SelectOptions = RunscOptions & BwrapOptions & KubernetesOptions & {
  /**
   * The process backend's key root, when it must differ from `keyRoot`: its
   * agent (Deno, unsandboxed) may read nothing under `/dev`, so a key root in
   * `/dev/shm` is the sandboxes' only.
   */
  processKeyRoot?: string;
};

/** The chosen backend and why. */
export interface Selection {
  isolator: Isolator;
  reason: string;
}

/** Builds the backends in order of strength. */
export function isolators(opts: SelectOptions): Record<IsolatorKind, Isolator> {
  return {
    runsc: new RunscIsolator(opts),
    bwrap: new BwrapIsolator(opts),
    process: new ProcessIsolator({ ...opts, keyRoot: opts.processKeyRoot ?? opts.keyRoot }),
    // Loads its kubeconfig only when checked or launched: building it here costs nothing.
    kubernetes: new KubernetesIsolator(opts),
  };
}

/**
 * Picks a backend. `auto` tries runsc, then bwrap, then process (never
 * kubernetes, which must be asked for), running
 * each one's check; the reason names what each skipped backend lacked. An
 * explicit preference that fails its check throws {@link IsolatorUnavailableError}.
 */
export async function selectIsolator(
  preference: IsolatorPreference,
  opts: SelectOptions,
): Promise<Selection> {
  const all = isolators(opts);
  const order: IsolatorKind[] = preference === "auto" ? ["runsc", "bwrap", "process"] : [preference];
  const skipped: string[] = [];
  for (const kind of order) {
    const check = await all[kind].check();
    if (check.ok) {
      const why = preference === "auto"
        ? `auto: ${[...skipped, `${kind} ok`].join("; ")}`
        : `${kind} as configured`;
      return { isolator: all[kind], reason: `${why} — ${check.detail}` };
    }
    skipped.push(`${kind} unavailable (${check.detail})`);
  }
  throw new IsolatorUnavailableError(preference, skipped.join("; "));
}
