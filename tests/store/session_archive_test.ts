import { type DataDirLayout, ensureDataDir } from "../../src/store/data_dir.ts";
import { encodeRecordLine } from "../../src/store/record.ts";
import {
  archiveCurrentLog,
  highestStoredSeq,
  listArchivedLogs,
  listArchivedLogsSync,
  newSessionId,
} from "../../src/store/session_archive.ts";
import { assert, assertEquals } from "../_assert.ts";
import { exists } from "../../src/store/file_info.ts";

const encoder = new TextEncoder();

function logOf(seqs: number[], session = "20261125_133107_959e"): Uint8Array {
  const lines = seqs.map((seq) =>
    encodeRecordLine({
      v: 1,
      seq,
      type: "message",
      session,
      received_at: "2026-11-25T13:31:10.777Z",
      frames: ["t", `m${seq}`],
    })
  );
  const out = new Uint8Array(lines.reduce((sum, line) => sum + line.length, 0));
  let offset = 0;
  for (const line of lines) {
    out.set(line, offset);
    offset += line.length;
  }
  return out;
}

async function withDataDir(fn: (layout: DataDirLayout) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "shearwater_archive_" });
  try {
    await fn(await ensureDataDir(`${root}/data`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

async function archiveNames(layout: DataDirLayout): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(layout.archiveDir)) names.push(entry.name);
  return names.sort();
}

Deno.test("archiveCurrentLog() moves the current log into archive/ under the session id", async () => {
  await withDataDir(async (layout) => {
    const content = logOf([1, 2, 3]);
    await Deno.writeFile(layout.currentLog, content);
    const target = await archiveCurrentLog(layout, "20261125_133107_959e");
    assertEquals(target, `${layout.archiveDir}/session_20261125_133107_959e.jsonl`);
    assertEquals(await Deno.readFile(target!), content);
    assertEquals(await archiveNames(layout), ["session_20261125_133107_959e.jsonl"]);
    assert(!(await exists(layout.currentLog)), "current_session.jsonl is gone after archiving");
  });
});

Deno.test("archiveCurrentLog() adds a suffix instead of overwriting an archived session", async () => {
  await withDataDir(async (layout) => {
    const session = "20261125_133107_959e";
    const first = encoder.encode("first\n");
    const second = encoder.encode("second\n");
    const third = encoder.encode("third\n");
    await Deno.writeFile(layout.currentLog, first);
    assertEquals(
      await archiveCurrentLog(layout, session),
      `${layout.archiveDir}/session_${session}.jsonl`,
    );
    await Deno.writeFile(layout.currentLog, second);
    assertEquals(
      await archiveCurrentLog(layout, session),
      `${layout.archiveDir}/session_${session}_1.jsonl`,
    );
    await Deno.writeFile(layout.currentLog, third);
    assertEquals(
      await archiveCurrentLog(layout, session),
      `${layout.archiveDir}/session_${session}_2.jsonl`,
    );
    assertEquals(await Deno.readFile(`${layout.archiveDir}/session_${session}.jsonl`), first);
    assertEquals(await Deno.readFile(`${layout.archiveDir}/session_${session}_1.jsonl`), second);
    assertEquals(await Deno.readFile(`${layout.archiveDir}/session_${session}_2.jsonl`), third);
  });
});

Deno.test("archiveCurrentLog() returns undefined when there is no current log", async () => {
  await withDataDir(async (layout) => {
    assertEquals(await archiveCurrentLog(layout, "20261125_133107_959e"), undefined);
    assertEquals(await archiveNames(layout), []);
  });
});

Deno.test("listArchivedLogs() lists archived .jsonl files oldest first", async () => {
  await withDataDir(async (layout) => {
    for (
      const name of [
        "session_20261126_000000_aaaa.jsonl",
        "session_20261125_133107_959e_1.jsonl",
        "session_20261125_133107_959e.jsonl",
        "notes.txt",
      ]
    ) {
      await Deno.writeTextFile(`${layout.archiveDir}/${name}`, "");
    }
    assertEquals(await listArchivedLogs(layout), [
      `${layout.archiveDir}/session_20261125_133107_959e.jsonl`,
      `${layout.archiveDir}/session_20261125_133107_959e_1.jsonl`,
      `${layout.archiveDir}/session_20261126_000000_aaaa.jsonl`,
    ]);
    assertEquals(listArchivedLogsSync(layout), await listArchivedLogs(layout));
  });
});

Deno.test("listArchivedLogs() is empty when there is no archive folder", async () => {
  await withDataDir(async (layout) => {
    await Deno.remove(layout.archiveDir, { recursive: true });
    assertEquals(await listArchivedLogs(layout), []);
    assertEquals(listArchivedLogsSync(layout), []);
  });
});

Deno.test("highestStoredSeq() is 0 for an empty data dir", async () => {
  await withDataDir(async (layout) => {
    assertEquals(await highestStoredSeq(layout), 0);
  });
});

Deno.test("highestStoredSeq() takes the highest last seq of archived and current logs", async () => {
  await withDataDir(async (layout) => {
    await Deno.writeFile(`${layout.archiveDir}/session_20261125_000000_aaaa.jsonl`, logOf([1, 2]));
    await Deno.writeFile(`${layout.archiveDir}/session_20261125_010000_bbbb.jsonl`, logOf([3, 40]));
    await Deno.writeFile(layout.currentLog, logOf([41, 42]));
    assertEquals(await highestStoredSeq(layout), 42);
    // The current log can be lower than an archive (e.g. after a manual move): still the max.
    await Deno.writeFile(layout.currentLog, logOf([5]));
    assertEquals(await highestStoredSeq(layout), 40);
    await Deno.remove(layout.currentLog);
    assertEquals(await highestStoredSeq(layout), 40);
  });
});

Deno.test("highestStoredSeq() ignores a torn or corrupt tail", async () => {
  await withDataDir(async (layout) => {
    const good = logOf([7, 8]);
    const next = logOf([100]);
    const log = new Uint8Array(good.length + 30);
    log.set(good, 0);
    log.set(next.subarray(0, 30), good.length);
    await Deno.writeFile(layout.currentLog, log);
    assertEquals(await highestStoredSeq(layout), 8);
    const flipped = logOf([7, 8, 100]);
    flipped[flipped.length - 20] = flipped[flipped.length - 20]! ^ 0x01;
    await Deno.writeFile(layout.currentLog, flipped);
    assertEquals(await highestStoredSeq(layout), 8);
  });
});

Deno.test("newSessionId() is the UTC time plus four hex digits", () => {
  const now = new Date("2026-11-25T13:31:07.959Z");
  const ids = Array.from({ length: 40 }, () => newSessionId(now));
  for (const id of ids) {
    assert(/^20261125_133107_[0-9a-f]{4}$/.test(id), `session id format: ${id}`);
  }
  assert(new Set(ids).size > 1, `the suffix is random: ${ids.join(" ")}`);
  assert(newSessionId(new Date("2026-01-02T03:04:05Z")).startsWith("20260102_030405_"));
});

Deno.test("newSessionId() sorts by time", () => {
  const earlier = newSessionId(new Date("2026-11-25T13:31:07Z"));
  const later = newSessionId(new Date("2026-11-25T13:31:08Z"));
  assert(earlier < later, `${earlier} < ${later}`);
});
