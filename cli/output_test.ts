import assert from "node:assert/strict";
import {
  captureIo,
  EMPTY_CELL,
  formatAge,
  printListing,
  renderTable,
  splitList,
  terminalSafe,
} from "./output.ts";

interface Row {
  id: string;
  note?: string;
}
const columns = [
  { header: "ID", cell: (r: Row) => r.id },
  { header: "NOTE", cell: (r: Row) => r.note },
];

Deno.test("tables align columns under their headers and mark empty cells", () => {
  const lines = renderTable(columns, [{ id: "a", note: "first\nline" }, { id: "longer-id" }]);
  assert.deepEqual(lines, [
    "ID         NOTE",
    "a          first line",
    `longer-id  ${EMPTY_CELL}`,
  ]);
});

Deno.test("listings print JSON with --json, a table otherwise, and a message when empty", () => {
  const rows: Row[] = [{ id: "x", note: "y" }];
  const json = captureIo();
  printListing(json, { json: true }, rows, columns, "none");
  assert.deepEqual(JSON.parse(json.stdout.join("\n")), rows);

  const table = captureIo();
  printListing(table, {}, rows, columns, "none");
  assert.deepEqual(table.stdout, ["ID  NOTE", "x   y"]);

  const empty = captureIo();
  printListing(empty, {}, [], columns, "Nothing here.");
  assert.deepEqual(empty.stdout, ["Nothing here."]);
  const emptyJson = captureIo();
  printListing(emptyJson, { json: true }, [], columns, "Nothing here.");
  assert.deepEqual(emptyJson.stdout, ["[]"]);
});

Deno.test("ages are coarse and never negative", () => {
  const now = Date.parse("2025-01-10T12:00:00.000Z");
  assert.equal(formatAge("2025-01-10T11:59:18.000Z", now), "42s");
  assert.equal(formatAge("2025-01-10T11:53:00.000Z", now), "7m");
  assert.equal(formatAge("2025-01-10T09:00:00.000Z", now), "3h");
  assert.equal(formatAge("2024-12-29T12:00:00.000Z", now), "12d");
  assert.equal(formatAge("2025-01-10T12:00:05.000Z", now), "0s");
  assert.equal(formatAge("not a time", now), EMPTY_CELL);
  assert.equal(formatAge(undefined, now), EMPTY_CELL);
});

Deno.test("comma lists are trimmed and skip blanks", () => {
  assert.deepEqual(splitList(" read_file, ,send_message ,"), ["read_file", "send_message"]);
  assert.deepEqual(splitList(""), []);
});

Deno.test("terminalSafe escapes C0, DEL and C1 controls and keeps tab and newline", () => {
  assert.equal(terminalSafe("a\tb\nc"), "a\tb\nc");
  assert.equal(
    terminalSafe("\x1b[31mred\x07\r\x7f\x9b\x9d"),
    "\\u001b[31mred\\u0007\\u000d\\u007f\\u009b\\u009d",
  );
  assert.equal(terminalSafe("naïve ✓"), "naïve ✓");
});
