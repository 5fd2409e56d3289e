/**
 * The tool registry: unique, well-formed names, never a forbidden one
 * (self-modification and package installs exist only as requests to the
 * host), sorted listings, the enabled-tools filter, and calls that turn every
 * failure into text the model can read.
 *
 * @module
 */
import { z } from "zod";
import { FORBIDDEN_TOOL_NAMES, MANDATORY_TOOLS } from "../../contract/tools.ts";
import type { ToolSpec } from "../model/mod.ts";
import { type Tool, type ToolContext, ToolError, type ToolOutput } from "./tool.ts";

const TOOL_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * Each tool's spec, computed once per tool object: converting a zod schema to
 * JSON Schema is the costly part, and every answer builds a registry of the
 * same built-in tools plus the MCP ones granted now ({@link ToolRegistry.with}).
 */
const SPECS = new WeakMap<Tool, ToolSpec>();

function specOf(tool: Tool): ToolSpec {
  let spec = SPECS.get(tool);
  if (spec === undefined) {
    const { $schema: _, ...schema } = tool.inputSchema ?? z.toJSONSchema(tool.input, { io: "input" });
    spec = { name: tool.name, description: tool.description, input_schema: { ...schema, type: "object" } };
    SPECS.set(tool, spec);
  }
  return spec;
}

/** The outcome of a call: the tool's output, or an error text for the model. */
export type ToolCallResult = { ok: true; output: ToolOutput } | { ok: false; error: string };

/** A set of tools. */
export class ToolRegistry {
  #tools = new Map<string, Tool>();
  #specs: ToolSpec[] | undefined;

  constructor(tools: Iterable<Tool> = []) {
    for (const tool of tools) this.register(tool);
  }

  /** Adds a tool; throws on a malformed, forbidden or duplicate name, or a non-object input schema. */
  register(tool: Tool): void {
    if (!TOOL_NAME.test(tool.name)) {
      throw new Error(`tool name ${JSON.stringify(tool.name)} is not lower_snake_case`);
    }
    if (FORBIDDEN_TOOL_NAMES.includes(tool.name.toLowerCase())) {
      throw new Error(`tool name ${tool.name} is forbidden`);
    }
    if (this.#tools.has(tool.name)) throw new Error(`tool ${tool.name} is already registered`);
    if (!(tool.input instanceof z.ZodObject)) throw new Error(`tool ${tool.name} must take an object`);
    this.#tools.set(tool.name, tool);
    this.#specs = undefined;
  }

  /** Tool names, sorted. */
  get names(): string[] {
    return [...this.#tools.keys()].sort();
  }

  /** Tool descriptions for the model, sorted by name. */
  specs(): ToolSpec[] {
    this.#specs ??= this.names.map((name) => specOf(this.#tools.get(name)!));
    return this.#specs;
  }

  /**
   * The tools named in `enabled` plus the mandatory ones; an empty list
   * keeps everything. Unknown names are ignored (they may name tools another
   * build has).
   */
  filter(enabled: readonly string[]): ToolRegistry {
    if (enabled.length === 0) return this;
    const keep = new Set<string>([...enabled, ...MANDATORY_TOOLS]);
    return new ToolRegistry([...this.#tools.values()].filter((t) => keep.has(t.name)));
  }

  /** This registry's tools and `more` (whose names must not clash with them); itself when `more` is empty. */
  with(more: Iterable<Tool>): ToolRegistry {
    const added = [...more];
    return added.length === 0 ? this : new ToolRegistry([...this.#tools.values(), ...added]);
  }

  /** Validates `input` and runs the tool. Never throws: failures come back as text for the model. */
  async call(name: string, input: unknown, ctx: ToolContext): Promise<ToolCallResult> {
    const tool = this.#tools.get(name);
    if (!tool) return { ok: false, error: `unknown tool: ${name}` };
    const parsed = tool.input.safeParse(input);
    if (!parsed.success) {
      return { ok: false, error: `invalid input for ${name}:\n${z.prettifyError(parsed.error)}` };
    }
    try {
      return { ok: true, output: await tool.invoke(parsed.data, ctx) };
    } catch (err) {
      if (err instanceof ToolError) return { ok: false, error: err.message };
      return { ok: false, error: `${name} failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
}
