/**
 * `ironclaw onboard`: the guided first run. It asks (or takes from flags)
 * the model provider — Anthropic, OpenAI, OpenRouter, or a local
 * OpenAI-compatible server by base URL — and which environment variable holds
 * the key; checks them with one real call; keeps the choice in
 * `<state-dir>/model.json` for `serve`; proposes a first agent from a
 * template and approves it (a `create_agent` change, through the running
 * control plane); and prints the exact next commands.
 *
 * @module
 */
import type { Command } from "commander";
import { TEMPLATES } from "../src/catalog/mod.ts";
import {
  defaultStateDir,
  lockHolder,
  type ModelConfig,
  modelKeyEnv,
  writeModelConfig,
} from "../src/control_plane/mod.ts";
import { buildAgentProposal } from "./agent_proposal.ts";
import { submitAgentProposal } from "./agent.ts";
import { type Prompter, terminalPrompter } from "./agent_wizard.ts";
import { defaultActor } from "./change.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { CliError } from "./errors.ts";
import { checkModelCredential } from "./model_check.ts";
import type { CliIo } from "./output.ts";

/** The providers onboarding offers; `local` is an OpenAI-compatible server (Ollama, llama.cpp) by base URL. */
export const ONBOARD_PROVIDERS = ["anthropic", "openai", "openrouter", "local"] as const;
type OnboardProvider = typeof ONBOARD_PROVIDERS[number];

/** A model to suggest per provider (any the provider serves may be named). */
const SUGGESTED_MODELS: Record<Exclude<OnboardProvider, "local">, string> = {
  anthropic: "claude-sonnet-4-5",
  openai: "gpt-4o-mini",
  openrouter: "anthropic/claude-sonnet-4.5",
};

/** `onboard`'s flags: one per question. */
export interface OnboardFlags extends ClientFlags {
  provider?: string;
  baseUrl?: string;
  model?: string;
  keyEnv?: string;
  template?: string;
  agentName?: string;
  telegramTokenEnv?: string;
  skipCheck?: boolean;
  nonInteractive?: boolean;
}

/** The provider config the flags and (on a terminal) the answers describe. */
async function askModel(flags: OnboardFlags, ask: Prompter | undefined): Promise<ModelConfig> {
  const need = (flag: string): never => {
    throw new CliError(`onboard --non-interactive needs ${flag}`);
  };
  const provider = (flags.provider ??
    (ask
      ? await ask.select<OnboardProvider>({
        message: "Model provider",
        choices: ONBOARD_PROVIDERS.map((p) => ({
          name: p === "local" ? "local OpenAI-compatible server (Ollama, llama.cpp) by base URL" : p,
          value: p,
        })),
      })
      : need("--provider"))) as string;
  if (!(ONBOARD_PROVIDERS as readonly string[]).includes(provider)) {
    throw new CliError(`--provider ${provider}: expected one of ${ONBOARD_PROVIDERS.join(", ")}`);
  }
  const local = provider === "local";
  const baseUrl = flags.baseUrl ??
    (local
      ? ask
        ? await ask.input({ message: "Base URL of the server", default: "http://127.0.0.1:11434" })
        : need("--base-url (e.g. http://127.0.0.1:11434 for Ollama)")
      : undefined);
  const suggested = local ? undefined : SUGGESTED_MODELS[provider as Exclude<OnboardProvider, "local">];
  const model = flags.model ??
    (ask ? await ask.input({ message: "Model", default: suggested }) : suggested ?? need("--model"));
  const config = {
    provider: local ? "openai" as const : provider as ModelConfig["provider"],
    model,
    baseUrl,
  };
  const keyEnv = flags.keyEnv ??
    (ask
      ? await ask.input({
        message: "Environment variable holding the key (the key itself is never stored)",
        default: modelKeyEnv(config),
      })
      : undefined);
  return { ...config, ...(keyEnv ? { keyEnv } : {}) };
}

/** Runs onboarding; returns the lines of next commands it printed. */
export async function runOnboard(io: CliIo, flags: OnboardFlags, ask?: Prompter): Promise<void> {
  const stateDir = flags.stateDir ?? defaultStateDir();
  const prompter = flags.nonInteractive || !io.interactive ? undefined : ask ?? terminalPrompter();
  const config = await askModel(flags, prompter);
  if (!flags.skipCheck) {
    io.out(`checking ${config.model} with one call…`);
    const problem = await checkModelCredential(config);
    if (problem) {
      throw new CliError(`model check failed: ${problem.detail}: ${problem.fix} (nothing was saved)`);
    }
    io.out(`model ok: ${config.model} answered`);
  }
  await writeModelConfig(stateDir, config);
  io.out(`saved the model choice in ${stateDir}/model.json (the key stays in $${modelKeyEnv(config)})`);

  const template = flags.template ??
    (prompter
      ? await prompter.select({
        message: "First agent's template",
        choices: TEMPLATES.map((t) => ({ name: `${t.id}: ${t.description}`, value: t.id })),
      })
      : "assistant");
  const name = flags.agentName ??
    (prompter ? await prompter.input({ message: "Its name", default: "Assistant" }) : "Assistant");
  const proposal = buildAgentProposal({ name, template, provider: config.provider, model: config.model });
  const serveCommand = `ironclaw serve --state-dir ${stateDir}`;
  const next: string[] = [];
  if (flags.apiUrl || lockHolder(stateDir) !== undefined) {
    const client = ApiClient.fromFlags({ ...flags, stateDir });
    const record = await submitAgentProposal(io, client, proposal, defaultActor());
    const answer = await client.call((api) =>
      api.v1.changes[":id"].decision.$post({
        param: { id: encodeURIComponent(record.request.id) },
        json: { outcome: "approve", decidedBy: defaultActor() },
      })
    );
    if (answer.applyError) {
      throw new CliError(`the agent was approved but failed to apply: ${answer.applyError}`);
    }
    io.out(`approved ${record.request.id}: agent ${proposal.agentGroupId} is ready`);
    next.push(`restart the control plane so it uses the model choice: ${serveCommand}`);
  } else {
    next.push(`start the control plane (with $${modelKeyEnv(config)} set): ${serveCommand}`);
    next.push(
      `create the agent: ironclaw agent create --name ${JSON.stringify(name)} --template ${template} ` +
        `--provider ${config.provider} --model ${config.model} --state-dir ${stateDir}`,
    );
    next.push(`approve it: ironclaw change approve <the id it prints> --state-dir ${stateDir}`);
  }
  const telegram = flags.telegramTokenEnv ??
    (prompter && await prompter.confirm({ message: "Connect a Telegram bot?", default: false })
      ? await prompter.input({
        message: "Environment variable holding the bot token",
        default: "TELEGRAM_BOT_TOKEN",
      })
      : undefined);
  if (telegram) {
    next.unshift(
      `with the control plane stopped, add the bot: ironclaw channel add telegram --token-env ${telegram} --state-dir ${stateDir}`,
    );
  }
  next.push(`talk to it: ironclaw chat ${proposal.agentGroupId} --state-dir ${stateDir}`);
  next.push(`check the setup: ironclaw doctor --state-dir ${stateDir}`);
  io.out("next:");
  for (const line of next) io.out(`  ${line}`);
}

/** Registers `onboard`. */
export function registerOnboardCommand(program: Command, io: CliIo): void {
  withClientFlags(
    program.command("onboard")
      .description(
        "guided first run: model provider and key (checked with one real call), a first agent, " +
          "an optional Telegram bot, and the next commands",
      )
      .option(
        "--provider <name>",
        `model provider: ${ONBOARD_PROVIDERS.join(", ")} (local: OpenAI-compatible server)`,
      )
      .option("--base-url <url>", "the local server's base URL, e.g. http://127.0.0.1:11434 (Ollama)")
      .option("--model <name>", "the model the agent uses")
      .option(
        "--key-env <var>",
        "the environment variable holding the key (default the provider's, e.g. OPENAI_API_KEY)",
      )
      .option(
        "--template <id>",
        `the first agent's template (${TEMPLATES.map((t) => t.id).join(", ")}; default assistant)`,
      )
      .option("--agent-name <name>", "the first agent's name (default Assistant)")
      .option("--telegram-token-env <var>", "connect a Telegram bot whose token is in this variable")
      .option("--skip-check", "do not make the checking call (offline set-up)")
      .option("--non-interactive", "ask nothing: every answer from flags"),
  ).action((opts: OnboardFlags) => runOnboard(io, opts));
}
