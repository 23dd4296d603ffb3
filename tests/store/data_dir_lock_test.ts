import { DataDirBusyError } from "../../src/errors.ts";
import { DataDirLock, isLockHeld, readLockHolder } from "../../src/store/data_dir_lock.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";

const LOCK_MODULE = new URL("../../src/store/data_dir_lock.ts", import.meta.url).href;

/**
 * A child program that tries to take the lock at argv[0]. It prints one JSON line: the outcome,
 * or "locked" and then (with argv[1] === "hold") keeps the lock until it is killed.
 */
const CHILD_SOURCE = `
import { DataDirLock } from ${JSON.stringify(LOCK_MODULE)};
const [path, mode] = Deno.args;
try {
  await DataDirLock.acquire(path, "child");
  console.log(JSON.stringify({ locked: true, pid: Deno.pid }));
  if (mode === "hold") await new Promise(() => setInterval(() => {}, 60_000));
} catch (error) {
  console.log(JSON.stringify({
    locked: false,
    name: error.name,
    message: error.message,
    holderPid: error.holderPid,
    exitCode: error.exitCode,
  }));
}
`;

interface ChildOutcome {
  readonly locked: boolean;
  readonly pid?: number;
  readonly name?: string;
  readonly message?: string;
  readonly holderPid?: number;
  readonly exitCode?: number;
}

async function withLockDir(fn: (dir: string, childScript: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "shearwater_lock_" });
  try {
    const childScript = `${dir}/lock_child.ts`;
    await Deno.writeTextFile(childScript, CHILD_SOURCE);
    await fn(dir, childScript);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function childCommand(childScript: string, lockPath: string, mode: "try" | "hold") {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-lock", "--allow-read", "--allow-write", childScript, lockPath, mode],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs a child that tries the lock once and exits. */
async function tryLockInChild(childScript: string, lockPath: string): Promise<ChildOutcome> {
  const output = await childCommand(childScript, lockPath, "try").output();
  const stdout = new TextDecoder().decode(output.stdout);
  const stderr = new TextDecoder().decode(output.stderr);
  assertEquals(output.code, 0, `lock child failed:\n${stderr}`);
  return JSON.parse(stdout);
}

/** Starts a child that takes the lock and holds it; resolves once it holds it. */
async function holdLockInChild(childScript: string, lockPath: string) {
  const child = childCommand(childScript, lockPath, "hold").spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  const outcome: ChildOutcome = JSON.parse(text.split("\n")[0] || "{}");
  const kill = async () => {
    try {
      child.kill("SIGKILL");
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // already exited
    }
    const status = await child.status;
    await reader.cancel();
    await child.stderr.cancel();
    return status;
  };
  if (!outcome.locked) {
    await kill();
    throw new Error(`lock child could not take the lock: ${text}`);
  }
  return { pid: child.pid, kill };
}

Deno.test("DataDirLock.acquire() writes the holder into a 0600 lock file", async () => {
  await withLockDir(async (dir) => {
    const path = `${dir}/daemon.lock`;
    const before = Date.now();
    const lock = await DataDirLock.acquire(path, "daemon");
    try {
      assertEquals(lock.path, path);
      const holder = await readLockHolder(path);
      assertEquals(holder?.pid, Deno.pid);
      assertEquals(holder?.role, "daemon");
      const startedAt = Date.parse(holder!.started_at);
      assert(startedAt >= before - 1000 && startedAt <= Date.now() + 1000, holder!.started_at);
      assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
    } finally {
      lock.release();
    }
  });
});

Deno.test("DataDirLock.acquire() replaces a stale holder left in the lock file", async () => {
  await withLockDir(async (dir) => {
    const path = `${dir}/daemon.lock`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({ pid: 999999, started_at: "x", role: "old", extra: "z".repeat(500) }) + "\n",
    );
    const lock = await DataDirLock.acquire(path, "daemon");
    try {
      const text = await Deno.readTextFile(path);
      assertEquals(text.split("\n").length, 2, `one line: ${text}`);
      assertEquals((await readLockHolder(path))?.pid, Deno.pid);
    } finally {
      lock.release();
    }
  });
});

Deno.test("DataDirLock.acquire() in another process fails with DataDirBusyError naming the PID", async () => {
  await withLockDir(async (dir, childScript) => {
    const path = `${dir}/daemon.lock`;
    const lock = await DataDirLock.acquire(path, "daemon");
    try {
      const outcome = await tryLockInChild(childScript, path);
      assertEquals(outcome.locked, false, JSON.stringify(outcome));
      assertEquals(outcome.name, "DataDirBusyError");
      assertEquals(outcome.holderPid, Deno.pid);
      assertEquals(outcome.exitCode, 3);
      assert(outcome.message!.includes(`PID ${Deno.pid}`), outcome.message);
      assert(outcome.message!.includes(`"${dir}"`), outcome.message);
      assertEquals((await readLockHolder(path))?.pid, Deno.pid, "the holder is not overwritten");
    } finally {
      lock.release();
    }
  });
});

Deno.test("DataDirLock.release() lets another process take the lock", async () => {
  await withLockDir(async (dir, childScript) => {
    const path = `${dir}/daemon.lock`;
    const lock = await DataDirLock.acquire(path, "daemon");
    lock.release();
    const outcome = await tryLockInChild(childScript, path);
    assertEquals(outcome.locked, true, JSON.stringify(outcome));
  });
});

Deno.test("DataDirLock.acquire() succeeds once the holder process is killed with SIGKILL", async () => {
  await withLockDir(async (dir, childScript) => {
    const path = `${dir}/daemon.lock`;
    const holder = await holdLockInChild(childScript, path);
    try {
      assertEquals(await isLockHeld(path), true);
      assertEquals((await readLockHolder(path))?.pid, holder.pid);
      const error = await assertRejects(
        () => DataDirLock.acquire(path, "daemon"),
        DataDirBusyError,
        `child PID ${holder.pid}`,
      );
      assertEquals(error.holderPid, holder.pid);
    } finally {
      const status = await holder.kill();
      assertEquals(status.signal, "SIGKILL");
    }
    assertEquals(await isLockHeld(path), false);
    const lock = await DataDirLock.acquire(path, "daemon");
    try {
      assertEquals((await readLockHolder(path))?.pid, Deno.pid);
    } finally {
      lock.release();
    }
  });
});

Deno.test("isLockHeld() is false for a missing or free lock file", async () => {
  await withLockDir(async (dir, childScript) => {
    const path = `${dir}/daemon.lock`;
    assertEquals(await isLockHeld(path), false);
    await assertRejects(() => Deno.stat(path), Deno.errors.NotFound); // not created by asking
    const outcome = await tryLockInChild(childScript, path); // leaves a lock file, released
    assertEquals(outcome.locked, true);
    assertEquals(await isLockHeld(path), false);
  });
});

Deno.test("readLockHolder() returns undefined for a missing or unreadable lock file", async () => {
  await withLockDir(async (dir) => {
    const path = `${dir}/daemon.lock`;
    assertEquals(await readLockHolder(path), undefined);
    await Deno.writeTextFile(path, '{"pid":12');
    assertEquals(await readLockHolder(path), undefined);
    await Deno.writeTextFile(path, '{"role":"daemon"}\n');
    assertEquals(await readLockHolder(path), undefined);
  });
});
