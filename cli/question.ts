/**
 * `ironclaw question …`: the questions agents asked their humans
 * (`ask_user_question`), and answering one; the answer goes to the asking
 * session, which is woken to carry on.
 *
 * @module
 */
import type { Command } from "commander";
import { defaultActor } from "./change.ts";
import type { InferResponseType } from "hono/client";
import type { ApiRpc } from "../src/api/mod.ts";
import { ApiClient, type ClientFlags, withClientFlags } from "./client.ts";
import { type CliIo, type Column, formatAge, printJson, printListing } from "./output.ts";

/** A question as the API returns it. */
export type QuestionView = InferResponseType<ApiRpc["v1"]["questions"]["$get"], 200>[number];

const COLUMNS: Column<QuestionView>[] = [
  { header: "ID", cell: (q) => q.id },
  { header: "AGENT", cell: (q) => q.agentGroupId },
  { header: "AGE", cell: (q) => formatAge(q.askedAt) },
  { header: "QUESTION", cell: (q) => q.question },
  {
    header: "ANSWERS",
    cell: (q) =>
      q.options.length === 0
        ? "free text"
        : `${q.options.join(" | ")}${q.allowFreeform ? " | (or free text)" : ""}`,
  },
];

/** Registers `question` and its subcommands on `program`. */
export function registerQuestionCommands(program: Command, io: CliIo): void {
  const question = program.command("question").description("questions agents asked you, and your answers");

  withClientFlags(
    question.command("list")
      .description("list unanswered questions, oldest first")
      .option("--json", "machine-readable output"),
  ).action(async (opts: ClientFlags & { json?: boolean }) => {
    const rows = await ApiClient.fromFlags(opts).call((api) => api.v1.questions.$get());
    printListing(io, opts, rows, COLUMNS, "No open questions.");
    if (!opts.json && rows.length) io.out("Answer with: ironclaw question answer <id> <text>");
  });

  withClientFlags(
    question.command("answer")
      .description("answer a question; the asking agent is woken with the answer")
      .argument("<id>", "question id")
      .argument("<text...>", "the answer (one of the offered answers, or free text when allowed)")
      .option("--by <who>", "who answers (default cli:$USER)")
      .option("--json", "print the result as JSON"),
  ).action(async (id: string, words: string[], opts: ClientFlags & { by?: string; json?: boolean }) => {
    const result = await ApiClient.fromFlags(opts).call((api) =>
      api.v1.questions[":id"].answer.$post({
        param: { id: encodeURIComponent(id) },
        json: { answer: words.join(" "), answeredBy: opts.by ?? defaultActor() },
      })
    );
    if (opts.json) return printJson(io, result);
    io.out(
      `answered ${id}: ${JSON.stringify(result.question.answer)}; ${result.question.agentGroupId} is told`,
    );
    if (result.wakeError) {
      io.err(
        `note: the answer is queued, but waking the agent failed (${result.wakeError}); it reads it next run`,
      );
    }
  });
}
