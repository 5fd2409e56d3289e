/**
 * The persona documents an agent may have, how they are named on disk, and
 * what each is for.
 *
 * @module
 */

/** One persona document. */
export interface PersonaSection {
  key: "identity" | "soul" | "instructions";
  title: string;
  filename: string;
  help: string;
}

/** The three sections, in the order they are composed into the system prompt. */
export const PERSONA_SECTIONS: readonly PersonaSection[] = [
  {
    key: "identity",
    title: "Identity",
    filename: "IDENTITY.md",
    help: "Who the agent is and whom it works for.",
  },
  { key: "soul", title: "Soul", filename: "SOUL.md", help: "Its personality, voice and values." },
  {
    key: "instructions",
    title: "Instructions",
    filename: "AGENTS.md",
    help: "How it works: habits, tool use and house rules. It never overrides IronClaw's own rules.",
  },
];
