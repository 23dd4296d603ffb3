import { readHitLine, readHitLines } from "../../src/cli/hit_line.ts";
import { dataDirLayout } from "../../src/store/data_dir.ts";
import type { IndexHit } from "../../src/store/message_index.ts";
import { assertEquals } from "../_assert.ts";
import { concatBytes, encodeLines, sessionRecords } from "../log_fixtures.ts";
import { tempDir } from "../_helpers.ts";

const SESSION = "20261125_133107_959e";

/** An index hit as far as reading its line goes (the other fields are not read). */
function hitAt(file: string, seq: number, offset: number, length: number): IndexHit {
  return { file, seq, offset, length } as unknown as IndexHit;
}

Deno.test("readHitLines() verifies each hit's line, opening each log once, and names damage", async () => {
  const dir = await tempDir("hit_line");
  try {
    const lines = encodeLines(sessionRecords(SESSION, { firstSeq: 1, messages: 3 }));
    const bytes = concatBytes(lines);
    bytes[lines[0]!.length + lines[1]!.length + 5]! ^= 0x20; // damage the third line
    await Deno.writeFile(`${dir.path}/current_session.jsonl`, bytes);
    const layout = dataDirLayout(dir.path);
    const offsets = lines.map((_, i) => lines.slice(0, i).reduce((n, l) => n + l.length, 0));
    const log = "current_session.jsonl";
    const hits = [
      hitAt(log, 2, offsets[1]!, lines[1]!.length),
      hitAt(log, 3, offsets[2]!, lines[2]!.length),
      hitAt(log, 7, offsets[3]!, lines[3]!.length), // the line holds seq 4
      hitAt(log, 4, offsets[3]!, lines[3]!.length + 9), // past the end of the file
      hitAt("archive/gone.jsonl", 5, 0, 10),
    ];
    const checks = readHitLines(layout, hits);
    assertEquals(checks[0]!.ok && checks[0]!.record.seq, 2);
    const reasons = checks.slice(1).map((check) => check.ok ? "ok" : check.reason);
    assertEquals(reasons[0]!.startsWith("checksum mismatch"), true, reasons[0]);
    assertEquals(reasons.slice(1), [
      "the log holds seq 4 where the index expects it",
      `its log file ${log} ends before the line does`,
      "its log file archive/gone.jsonl is missing",
    ]);
    assertEquals(await readHitLine(layout, hits[2]!), checks[2]);
  } finally {
    await dir.cleanup();
  }
});
