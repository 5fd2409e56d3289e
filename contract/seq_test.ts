import assert from "node:assert/strict";
import { Database } from "./sqlite/mod.ts";
import { NEXT_EVEN_SEQ_SQL, NEXT_ODD_SEQ_SQL, nextEvenSeq, nextOddSeq } from "./seq.ts";
import { LIBRARY } from "../tests/support/mod.ts";

Deno.test("the SQL seq expressions equal their references", () => {
  using db = Database.open(":memory:", { library: LIBRARY, create: true });
  db.execScript("CREATE TABLE messages_in (seq INTEGER);\nCREATE TABLE messages_out (seq INTEGER);");
  for (const max of [undefined, 0, 1, 2, 7, 8, 1001]) {
    db.exec("DELETE FROM messages_in");
    db.exec("DELETE FROM messages_out");
    if (max !== undefined) {
      db.exec("INSERT INTO messages_in VALUES (?)", [max]);
      db.exec("INSERT INTO messages_out VALUES (?)", [max]);
    }
    const even = db.get(`SELECT ${NEXT_EVEN_SEQ_SQL} AS s`)!.s;
    const odd = db.get(`SELECT ${NEXT_ODD_SEQ_SQL} AS s`)!.s;
    assert.equal(even, nextEvenSeq(max), `even after ${max}`);
    assert.equal(odd, nextOddSeq(max), `odd after ${max}`);
    assert.equal(Number(even) % 2, 0);
    assert.equal(Number(odd) % 2, 1);
    assert.ok(Number(even) > (max ?? 0) && Number(odd) > (max ?? -1));
  }
});
