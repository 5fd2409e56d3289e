/**
 * Whether a message engages a wiring's agent: a pattern match, a mention,
 * or (mention-sticky) a mention or a conversation that is already open.
 *
 * @module
 */
import { EngageMode } from "../../contract/enums.ts";

/** Longest text a pattern is matched against (64 KiB of UTF-16 code units). */
export const ENGAGE_TEXT_CAP = 65_536;

/** What engage evaluation looks at. */
export interface EngageInput {
  mode: string;
  pattern: string;
  text: string;
  mentioned: boolean;
  /** For `mention-sticky`: whether the conversation already has a session. */
  hasSession: () => boolean;
}

/** Unknown engage mode: reported in the outcome, never guessed. */
export class EngageModeError extends Error {
  override name = "EngageModeError";
}

/**
 * True when the message engages. `pattern`: `.` matches everything, else the
 * regular expression is tried on the text (capped); an invalid one never
 * engages. `mention`: engaged iff mentioned. `mention-sticky`: mentioned, or
 * a session for the conversation exists. Throws {@link EngageModeError} for
 * an unknown mode.
 */
export function evaluateEngage(input: EngageInput): boolean {
  const mode = EngageMode.safeParse(input.mode);
  if (!mode.success) throw new EngageModeError(`unknown engage mode ${JSON.stringify(input.mode)}`);
  switch (mode.data) {
    case "pattern": {
      if (input.pattern === ".") return true;
      let re: RegExp;
      try {
        re = new RegExp(input.pattern, "u");
      } catch {
        try {
          re = new RegExp(input.pattern);
        } catch {
          return false;
        }
      }
      return input.pattern !== "" && re.test(input.text.slice(0, ENGAGE_TEXT_CAP));
    }
    case "mention":
      return input.mentioned;
    case "mention-sticky":
      return input.mentioned || input.hasSession();
  }
}
