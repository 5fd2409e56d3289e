/**
 * What an operator is shown about tools, templates and persona documents.
 *
 * @module
 */
export { toolCatalog } from "./tools.ts";
export type { ToolInfo } from "./tools.ts";
export { findTemplate, LEAST_PRIVILEGE_TOOLS, TEMPLATES } from "./templates.ts";
export type { AgentTemplate } from "./templates.ts";
export { PERSONA_SECTIONS } from "./persona_sections.ts";
export type { PersonaSection } from "./persona_sections.ts";
