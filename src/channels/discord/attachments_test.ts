import assert from "node:assert/strict";
import type { APIAttachment } from "@discordjs/core";
import { attachmentOf, withExtraAttachments } from "./attachments.ts";

const file = (filename: string, size = 3): APIAttachment => ({
  id: "1",
  filename,
  size,
  url: `https://cdn.discordapp.com/attachments/1/2/${filename}?ex=0`,
  proxy_url: "",
});

Deno.test("discord attachments: a safe name from the file's, its CDN URL the handle; extras named as not saved", () => {
  assert.deepEqual(attachmentOf({ ...file("../../etc/passwd"), content_type: "text/plain" }), {
    fileId: "https://cdn.discordapp.com/attachments/1/2/../../etc/passwd?ex=0",
    name: "passwd",
    size: 3,
    mimeType: "text/plain",
  });
  const event = { channelType: "discord", platformId: "1", senderHandle: "2", text: "see these" };
  assert.equal(withExtraAttachments(event, []), event);
  assert.equal(
    withExtraAttachments(event, [file("b.txt"), file("c.txt")]).text,
    "see these\n[attachment b.txt not saved: one file a message]\n[attachment c.txt not saved: one file a message]",
  );
});
