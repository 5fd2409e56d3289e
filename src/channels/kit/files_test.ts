import assert from "node:assert/strict";
import { attachmentLine, parseFileReply, safeFileName, tooLargeReason } from "./files.ts";

Deno.test("files: names lose directories and odd characters, never start with a dot", () => {
  assert.equal(safeFileName("../../etc/passwd"), "passwd");
  assert.equal(safeFileName("C:\\x\\my report (1).pdf"), "my_report_1_.pdf");
  assert.equal(safeFileName(".bashrc"), "bashrc");
  assert.equal(safeFileName("..."), "file");
  assert.equal(safeFileName("a".repeat(300)).length, 100);
});

Deno.test("files: the send_file form is read as a document; other text is not", () => {
  assert.deepEqual(parseFileReply("[file: a/b.txt]\ncap\n\nbody\n\nmore"), {
    name: "b.txt",
    caption: "cap",
    bytes: new TextEncoder().encode("body\n\nmore"),
  });
  assert.deepEqual(parseFileReply("[file: b.txt]\n\nbody"), {
    name: "b.txt",
    caption: undefined,
    bytes: new TextEncoder().encode("body"),
  });
  assert.equal(parseFileReply("hello [file: b.txt]\n\nbody"), undefined);
  assert.equal(parseFileReply("[file: b.txt]\nno blank line"), undefined);
});

Deno.test("files: the agent's line says where the file is, that it is coming, or why it is not there", () => {
  const a = { fileId: "f", name: "r.pdf", mimeType: "application/pdf" };
  assert.equal(attachmentLine(a, "pending"), "[attachment: r.pdf]");
  assert.equal(
    attachmentLine(a, { ok: true, path: "/workspace/r-1.pdf", relativePath: "r-1.pdf", bytes: 9 }),
    "[attachment: /workspace/r-1.pdf (9 bytes, application/pdf; in the workspace as r-1.pdf)]",
  );
  const MIB = 1024 * 1024;
  assert.equal(
    tooLargeReason(21 * MIB, 20 * MIB),
    "it is 21.0 MiB, over this host's limit of 20.0 MiB a file",
  );
  assert.equal(
    tooLargeReason(20 * MIB + 1, 20 * MIB),
    `it is ${20 * MIB + 1} bytes, over this host's limit of ${20 * MIB} bytes a file`,
  );
  assert.equal(tooLargeReason(undefined, 512), "it is over this host's limit of 512 bytes a file");
});
