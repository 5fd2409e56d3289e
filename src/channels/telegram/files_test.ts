import assert from "node:assert/strict";
import type { Message } from "grammy/types";
import { attachmentLine } from "../kit/mod.ts";
import { attachmentOf } from "./files.ts";

Deno.test("files: attachments are found (a photo's largest size)", () => {
  const photo = {
    message_id: 3,
    date: 0,
    chat: { id: 1, type: "private", first_name: "A" },
    photo: [
      { file_id: "small", file_unique_id: "s", width: 90, height: 90 },
      { file_id: "big", file_unique_id: "b", width: 900, height: 900, file_size: 5 },
    ],
  } as Message;
  const a = attachmentOf(photo)!;
  assert.deepEqual([a.fileId, a.name, a.mimeType], ["big", "photo-3.jpg", "image/jpeg"]);
  assert.equal(attachmentLine(a, { error: "nope" }), "[attachment photo-3.jpg not saved: nope]");
});
