/**
 * Questions the agents ask (`ask_user_question`), as Telegram messages: each
 * unanswered question of a Telegram conversation is posted once (durably)
 * with one inline button per option; a press, or a reply to the question's
 * message for a free-text answer, answers it through the question desk,
 * which hands the answer to the agent, and the message is edited to show
 * the answer. Only someone who may reach the agent may answer (its sender
 * policy: a role, a membership, or a public chat).
 *
 * @module
 */
import type { CallbackQuery, User } from "grammy/types";
import type { Question, QuestionDesk } from "../../questions/mod.ts";
import { namespaceUserId, type Registry } from "../../registry/mod.ts";
import type { TelegramClient } from "./bot_client.ts";
import { type ParsedMessage, TELEGRAM_CHANNEL } from "./inbound.ts";
import { questionKeyboard } from "./questions.ts";
import { type Destination, type TelegramSender, threadOf, threadOption } from "./sender.ts";
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
import type { HandledUpdate } from "./update_intake.ts";

/** What the buttons are built from. */
export interface QuestionButtonsDeps {
  client: TelegramClient;
  store: ChannelStore;
  sender: TelegramSender;
  registry: Registry;
  /** Where questions are listed and answered; without it none are posted and no press or reply answers. */
  desk?: Pick<QuestionDesk, "pending" | "get" | "answer">;
  /** Called once a question is posted in a chat (the agent waits: its typing stops). */
  onPosted?: (chatId: string, threadId: string | null) => void;
}

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
      channel: TELEGRAM_CHANNEL,
      send: (q, to) => this.#send(q, to),
      warn,
    });
  }

  /** A button press: answers its question when it is one of ours and the presser may. */
  async press(updateId: number, cq: CallbackQuery): Promise<HandledUpdate> {
    const refuse = async (detail: string, alert = false): Promise<HandledUpdate> => {
      await this.#ack(cq.id, detail, alert);
      return { updateId, kind: "refused", detail };
    };
    const desk = this.#d.desk;
    const choice = cq.data ? parseChoiceId(cq.data) : undefined;
    if (!choice || !desk) {
      await this.#ack(cq.id);
      return { updateId, kind: "ignored", detail: "not a question button" };
    }
    const posted = this.#d.store.question(choice.questionId);
    const msg = cq.message;
    if (
      !posted || !msg || posted.chatId !== String(msg.chat.id) || posted.messageId !== String(msg.message_id)
    ) {
      return await refuse("This button does not belong to a question here.");
    }
    const picked = pressedOption(desk, choice);
    if (typeof picked === "string") return await refuse(picked);
    const { question, option } = picked;
    const outcome = await this.#answer(question, { desk, answer: option, from: cq.from, at: posted });
    if (outcome !== "answered") return await refuse(outcome, true);
    await this.#ack(cq.id, `Answered: ${option}`);
    return { updateId, kind: "answered", questionId: question.id };
  }

  /**
   * A reply to a posted, unanswered question answers it; undefined lets the
   * message through as chat (not a reply to a question, or one answered already).
   */
  async reply(updateId: number, p: ParsedMessage): Promise<HandledUpdate | undefined> {
    const desk = this.#d.desk;
    if (!p.replyTo || !desk) return undefined;
    const question = waitingQuestion(desk, this.#d.store.questionAt(p.chatId, p.replyTo.messageId));
    if (!question) return undefined;
    const questionId = question.id;
    const answer = answerFromText(question, p.event.text);
    const dest: Destination = {
      chatId: p.chatId,
      replyTo: Number(p.messageId),
      ...threadOf(p.event.threadId),
    };
    if (answer === undefined) {
      await this.#d.sender.notice(dest, `Please answer with one of: ${question.options.join(", ")}`);
      return { updateId, kind: "refused", detail: "not one of the options" };
    }
    const from = { id: Number(p.event.senderHandle) } as User;
    const at = { chatId: p.chatId, messageId: p.replyTo.messageId };
    const outcome = await this.#answer(question, { desk, answer, from, at });
    if (outcome !== "answered") {
      await this.#d.sender.notice(dest, outcome);
      return { updateId, kind: "refused", detail: outcome };
    }
    return { updateId, kind: "answered", questionId };
  }

  /** Sends `q` to its chat (and forum topic) with its keyboard. */
  async #send(q: Question, to: QuestionTarget): Promise<{ chatId: string; messageId: string }> {
    const { client } = this.#d;
    const keyboard = questionKeyboard(q);
    const sent = await client.call(
      "sendMessage",
      () =>
        client.bot.api.sendMessage(to.chatId, questionText(q, keyboard !== undefined), {
          ...threadOption(to.threadId),
          ...(keyboard ? { reply_markup: keyboard } : {}),
        }),
    );
    return { chatId: to.chatId, messageId: String(sent.message_id) };
  }

  /** Answers `q` with `how.answer` as Telegram user `how.from` if they may (its message is `how.at`); "answered", or why not. */
  async #answer(
    q: Question,
    how: {
      desk: NonNullable<QuestionButtonsDeps["desk"]>;
      answer: string;
      from: User;
      at: { chatId: string; messageId: string };
    },
  ): Promise<string> {
    const { registry, client } = this.#d;
    const { desk, answer, from, at } = how;
    const userId = namespaceUserId(TELEGRAM_CHANNEL, String(from.id));
    const answered = await answerAs(q, { registry, desk, userId, answer });
    if (typeof answered === "string") return answered;
    const who = from.username ? `@${from.username}` : from.first_name ?? userId;
    try {
      await client.call(
        "editMessageText",
        () => client.bot.api.editMessageText(at.chatId, Number(at.messageId), answeredText(answered, who)),
      );
    } catch (err) {
      client.warn("the answered question {questionId} was not updated in its chat: {error}", err, {
        questionId: q.id,
      });
    }
    return "answered";
  }

  async #ack(callbackQueryId: string, text?: string, alert = false): Promise<void> {
    const { client } = this.#d;
    try {
      await client.call("answerCallbackQuery", () =>
        client.bot.api.answerCallbackQuery(callbackQueryId, {
          ...(text ? { text: text.slice(0, 200) } : {}),
          ...(alert ? { show_alert: true } : {}),
        }));
    } catch (err) {
      client.warn("a button press was not acknowledged: {error}", err);
    }
  }
}
