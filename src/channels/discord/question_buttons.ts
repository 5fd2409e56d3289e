/**
 * Questions the agents ask (`ask_user_question`) as Discord messages: each
 * unanswered question of a Discord conversation is posted once (durably)
 * with one button per option, in the thread the conversation went on in.
 * A press arrives as an interaction, acknowledged within Discord's three
 * seconds: an answer edits the question's message to show it (buttons
 * gone), a refusal is told to the presser alone (ephemeral). A reply to the
 * question's message answers it in words. Only someone who may reach the
 * agent may answer (its sender policy: a role, a membership, or a public
 * chat).
 *
 * @module
 */
import type { APIMessageComponentInteraction, APIUser } from "@discordjs/core";
import type { Question, QuestionDesk } from "../../questions/mod.ts";
import { namespaceUserId, type Registry } from "../../registry/mod.ts";
import {
  answerAs,
  answeredText,
  answerFromText,
  type ChannelStore,
  parseChoiceId,
  pressedOption,
  QuestionPoster,
  type QuestionTarget,
  questionText,
  waitingQuestion,
} from "../kit/mod.ts";
import type { DiscordClient } from "./client.ts";
import { DISCORD_CHANNEL, type ParsedMessage } from "./inbound.ts";
import { questionComponents } from "./questions.ts";
import type { DiscordSender } from "./sender.ts";

/** What handling a press or a reply did. */
export type Answering = { kind: "answered"; questionId: string } | {
  kind: "refused" | "ignored";
  detail: string;
};

/** What the buttons are built from. */
export interface QuestionButtonsDeps {
  client: DiscordClient;
  store: ChannelStore;
  sender: DiscordSender;
  registry: Registry;
  /** Where questions are listed and answered; without it none are posted and no press or reply answers. */
  desk?: Pick<QuestionDesk, "pending" | "get" | "answer">;
  /** Called once a question is posted (the agent waits: its typing stops). */
  onPosted?: (chatId: string, threadId: string | null) => void;
}

/** Discord's flag for a reply only its recipient sees. */
const EPHEMERAL = 1 << 6;

/** Posts questions and takes their answers. */
export class QuestionButtons {
  /** The posting round (the kit's): `post()` on every event, `settled()` before stopping. */
  readonly poster: QuestionPoster;
  #d: QuestionButtonsDeps;

  constructor(deps: QuestionButtonsDeps) {
    this.#d = deps;
    const warn = deps.client.warn.bind(deps.client);
    this.poster = new QuestionPoster({
      ...deps,
      channel: DISCORD_CHANNEL,
      send: (q, to) => this.#send(q, to),
      warn,
    });
  }

  /** A button press: answers its question when it is one of ours and the presser may; always acknowledged. */
  async press(i: APIMessageComponentInteraction): Promise<Answering> {
    const { client, store } = this.#d;
    const desk = this.#d.desk;
    const refuse = async (detail: string): Promise<Answering> => {
      await this.#ack(
        i,
        () =>
          client.api.interactions.reply(i.id, i.token, {
            content: detail,
            flags: EPHEMERAL,
            allowed_mentions: { parse: [] },
          }),
      );
      return { kind: "refused", detail };
    };
    const choice = parseChoiceId(i.data.custom_id);
    if (!choice || !desk) {
      await this.#ack(i, () => client.api.interactions.deferMessageUpdate(i.id, i.token));
      return { kind: "ignored", detail: "not a question button" };
    }
    // A press can race the post's own bookkeeping (the message is out before it is recorded): let that finish.
    const posted = store.question(choice.questionId) ??
      (await this.poster.settled(), store.question(choice.questionId));
    if (!posted || posted.messageId !== i.message.id) {
      return await refuse("This button does not belong to a question here.");
    }
    const picked = pressedOption(desk, choice);
    if (typeof picked === "string") return await refuse(picked);
    const { question, option } = picked;
    const user = i.member?.user ?? i.user!;
    const outcome = await answerAs(question, { ...this.#d, desk, answer: option, userId: userIdOf(user) });
    if (typeof outcome === "string") return await refuse(outcome);
    // The acknowledgement is the edit: the question shows its answer, its buttons gone.
    await this.#ack(i, () =>
      client.api.interactions.updateMessage(i.id, i.token, {
        content: answeredText(outcome, who(user)),
        components: [],
        allowed_mentions: { parse: [] },
      }));
    return { kind: "answered", questionId: question.id };
  }

  /**
   * A reply to a posted, unanswered question answers it; undefined lets the
   * message through as chat (not a reply to a question, or one answered already).
   */
  async reply(p: ParsedMessage, author: APIUser): Promise<Answering | undefined> {
    const desk = this.#d.desk;
    if (!p.replyTo || !desk) return undefined;
    const question = waitingQuestion(desk, this.#d.store.questionAt(p.channelId, p.replyTo.messageId));
    if (!question) return undefined;
    const questionId = question.id;
    const answer = answerFromText(question, p.event.text);
    const dest = { channelId: p.channelId, replyTo: p.messageId };
    if (answer === undefined) {
      await this.#d.sender.notice(dest, `Please answer with one of: ${question.options.join(", ")}`);
      return { kind: "refused", detail: "not one of the options" };
    }
    const outcome = await answerAs(question, { ...this.#d, desk, answer, userId: userIdOf(author) });
    if (typeof outcome === "string") {
      await this.#d.sender.notice(dest, outcome);
      return { kind: "refused", detail: outcome };
    }
    try {
      await this.#d.client.api.channels.editMessage(p.channelId, p.replyTo.messageId, {
        content: answeredText(outcome, who(author)),
        components: [],
        allowed_mentions: { parse: [] },
      });
    } catch (err) {
      this.#d.client.warn("the answered question {questionId} was not updated: {error}", err, { questionId });
    }
    return { kind: "answered", questionId };
  }

  /** Sends `q` in the conversation's thread: the session's, else the one it went on in last. */
  async #send(q: Question, to: QuestionTarget): Promise<{ chatId: string; messageId: string }> {
    const components = questionComponents(q);
    const channelId = to.threadId ?? this.#d.sender.threadOf(q.sessionId) ?? to.chatId;
    const sent = await this.#d.client.api.channels.createMessage(channelId, {
      content: questionText(q, components !== undefined),
      allowed_mentions: { parse: [] },
      ...(components ? { components } : {}),
    });
    // Recorded where it was posted: a reply to it there answers it.
    return { chatId: channelId, messageId: sent.id };
  }

  /** Acknowledges an interaction; a failure (it expired) is logged, never thrown. */
  async #ack(i: APIMessageComponentInteraction, send: () => Promise<unknown>): Promise<void> {
    try {
      await send();
    } catch (err) {
      this.#d.client.warn("a button press was not acknowledged: {error}", err, { interactionId: i.id });
    }
  }
}

function userIdOf(user: APIUser): string {
  return namespaceUserId(DISCORD_CHANNEL, user.id);
}

function who(user: APIUser): string {
  return `@${user.global_name ?? user.username}`;
}
