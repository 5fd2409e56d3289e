/**
 * Where an operator named a release program (the agent for `serve`, the
 * probe for `verify`): its flag wins over its environment variable; neither
 * leaves the default (beside a compiled `ironclaw`, or bundled from source).
 *
 * @module
 */

/** A named program and where it was named (for one-line errors), or nothing. */
export interface NamedProgram {
  executable?: string;
  executableFrom?: string;
}

/** `flagValue` (from `--<flag>`), else the environment variable `env`, else nothing. */
export function namedProgram(flagValue: string | undefined, flag: string, env: string): NamedProgram {
  if (flagValue) return { executable: flagValue, executableFrom: flag };
  const fromEnv = Deno.env.get(env);
  if (fromEnv) return { executable: fromEnv, executableFrom: `$${env}` };
  return {};
}
