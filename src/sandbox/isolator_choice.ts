/**
 * Which sandbox backend the control plane launches agents with. `auto`
 * takes gVisor (`runsc`, ptrace platform) when it works here, else
 * bubblewrap; the plain-process backend, which is no sandbox at all, only in
 * development, and then loudly labelled. An explicit choice must work or the
 * control plane does not start.
 *
 * @module
 */
import {
  type Isolator,
  type IsolatorPreference,
  IsolatorUnavailableError,
  type Selection,
  selectIsolator,
  type SelectOptions,
} from "../../isolator/mod.ts";

/** The chosen backend, why, and whether it is the weaker development fallback. */
export interface IsolatorChoice extends Selection {
  /** True for the process backend: no sandbox, development only. */
  weaker: boolean;
  /** One line for the operator: the backend, its strength and the reason. */
  label: string;
}

/** How to choose. */
export interface IsolatorChoiceOptions extends SelectOptions {
  /** `auto` (default) or one backend. */
  preference?: IsolatorPreference;
  /** Development mode: the only mode that may fall back to, or ask for, the process backend. */
  dev?: boolean;
}

/** The process backend outside development: refused. */
export class UnsandboxedRefusedError extends Error {
  override name = "UnsandboxedRefusedError";
  constructor(detail: string) {
    super(
      `the process backend runs agents without a sandbox and is for development only (serve --dev): ${detail}`,
    );
  }
}

function describe(selection: Selection): IsolatorChoice {
  const { kind, strength } = selection.isolator;
  const weaker = kind === "process";
  const label = weaker
    ? `isolator process (NO SANDBOX, weaker than runsc and bwrap; development only): ${selection.reason}`
    : `isolator ${kind} (${strength}): ${selection.reason}`;
  return { ...selection, weaker, label };
}

/**
 * Picks the backend. Outside development `auto` tries runsc then bwrap and
 * fails closed when neither works; in development it falls back to the
 * process backend. Asking for `process` outside development is refused.
 */
export async function chooseIsolator(options: IsolatorChoiceOptions): Promise<IsolatorChoice> {
  const preference = options.preference ?? "auto";
  if (preference === "process" && !options.dev) throw new UnsandboxedRefusedError("it was asked for");
  const selection = await selectIsolator(preference, options);
  if (selection.isolator.kind === "process" && !options.dev) {
    // Only `auto` gets here: neither sandbox works, and the process backend is not one.
    throw new IsolatorUnavailableError(
      preference,
      `no sandbox backend works here (${selection.reason}); the unsandboxed process backend is for development only`,
    );
  }
  return describe(selection);
}

/** A backend the caller built itself, described like a chosen one. */
export function givenIsolator(isolator: Isolator): IsolatorChoice {
  return describe({ isolator, reason: `${isolator.kind} as given` });
}
