/**
 * A throwaway PostgreSQL cluster for tests: `initdb` in a temp dir owned by the `postgres` user,
 * a server on a free port of 127.0.0.1 with its socket in that dir, killed and removed by
 * `stop()`. Real server binaries, no imitation. When the binaries (Debian's `postgresql`) are
 * missing, `pgAvailable` is false and tests declare `ignore: !pgAvailable`, so they show as
 * ignored rather than passed.
 *
 * @example
 * ```ts
 * Deno.test({ name: "…", ignore: !pgAvailable }, async () => {
 *   const cluster = await startPgCluster();
 *   try { … cluster.url … } finally { await cluster.stop(); }
 * });
 * ```
 */
import { freePort } from "../_helpers.ts";

const CANDIDATE_BIN_DIRS = [
  "/usr/lib/postgresql/17/bin",
  "/usr/lib/postgresql/16/bin",
  "/usr/lib/postgresql/15/bin",
];

function findBinDir(): string | undefined {
  for (const dir of CANDIDATE_BIN_DIRS) {
    try {
      if (Deno.statSync(`${dir}/initdb`).isFile) return dir;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return undefined;
}

function isRoot(): boolean {
  return Deno.uid() === 0;
}

function postgresUserExists(): boolean {
  try {
    return Deno.readTextFileSync("/etc/passwd").split("\n").some((line) =>
      line.startsWith("postgres:")
    );
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

const BIN_DIR = findBinDir();

/** Why the PostgreSQL tests are skipped here, or undefined when they can run. */
export const pgSkipReason: string | undefined = BIN_DIR === undefined
  ? "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): install Debian's " +
    "`postgresql` (.ci/run does) to run the PostgreSQL tests"
  : !isRoot()
  ? "the PostgreSQL tests run a throwaway cluster as the `postgres` user and need root"
  : !postgresUserExists()
  ? "the `postgres` system user is missing: install Debian's `postgresql`"
  : undefined;

/** True when a throwaway cluster can be started on this machine. */
export const pgAvailable: boolean = pgSkipReason === undefined;

if (!pgAvailable) {
  console.error(`%cPostgreSQL tests ignored: ${pgSkipReason}`, "color: yellow");
}

/** A running throwaway cluster. */
export interface PgCluster {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication, no password). */
  readonly url: string;
  readonly port: number;
  /** The cluster's data dir (owned by `postgres`). */
  readonly dataDir: string;
  /** Runs SQL through `psql` as the superuser; returns stdout (unaligned, tuples only). */
  psql(sql: string, database?: string): Promise<string>;
  /** SIGKILL to the postmaster (and so its backends): a crash, not a shutdown. */
  kill9(): Promise<void>;
  /** Starts the server again on the same port after `kill9()` (crash recovery runs). */
  restart(): Promise<void>;
  /** Stops the server (immediate) and removes its files; safe to repeat. */
  stop(): Promise<void>;
}

async function run(
  program: string,
  args: string[],
  options: { asPostgres?: boolean; allowFailure?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, cmdArgs] = options.asPostgres
    ? ["runuser", ["-u", "postgres", "--", program, ...args]]
    : [program, args];
  const output = await new Deno.Command(cmd, {
    args: cmdArgs,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const result = {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
  if (result.code !== 0 && !options.allowFailure) {
    throw new Error(`${program} ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
  }
  return result;
}

/**
 * Starts a throwaway cluster (about a second). Throws when `pgAvailable` is false: guard the
 * test with `ignore: !pgAvailable`.
 */
export async function startPgCluster(): Promise<PgCluster> {
  if (BIN_DIR === undefined || !pgAvailable) {
    throw new Error(`Cannot start PostgreSQL: ${pgSkipReason}`);
  }
  const bin = BIN_DIR;
  const root = await Deno.makeTempDir({ prefix: "shearwater-pg-" });
  await Deno.chmod(root, 0o755);
  const dataDir = `${root}/data`;
  await Deno.mkdir(dataDir, { mode: 0o700 });
  await run("chown", ["-R", "postgres:postgres", root]);
  await run(`${bin}/initdb`, [
    "-D",
    dataDir,
    "-A",
    "trust",
    "-U",
    "postgres",
    "-E",
    "UTF8",
    "--locale",
    "C.UTF-8",
  ], { asPostgres: true });
  const port = freePort();
  const start = async () => {
    await run(`${bin}/pg_ctl`, [
      "-D",
      dataDir,
      "-o",
      `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`,
      "-l",
      `${root}/server.log`,
      "-w",
      "-t",
      "60",
      "start",
    ], { asPostgres: true });
  };
  await start();
  let stopped = false;
  const postmasterPid = async (): Promise<number | undefined> => {
    try {
      const first = (await Deno.readTextFile(`${dataDir}/postmaster.pid`)).split("\n")[0];
      return first === undefined ? undefined : Number(first);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
  };
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async psql(sql, database = "postgres") {
      const result = await run(`${bin}/psql`, [
        "-X",
        "-q",
        "-A",
        "-t",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        "postgres",
        "-d",
        database,
        "-c",
        sql,
      ]);
      return result.stdout.trim();
    },
    async kill9() {
      const pid = await postmasterPid();
      if (pid === undefined) return;
      Deno.kill(pid, "SIGKILL");
      // The backends notice the postmaster is gone and exit; wait until none is left on the port.
      for (let i = 0; i < 200; i++) {
        const probe = await run(`${bin}/pg_isready`, ["-h", "127.0.0.1", "-p", String(port)], {
          allowFailure: true,
        });
        if (probe.code !== 0) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async restart() {
      // After a SIGKILL the stale postmaster.pid stays; pg_ctl start copes once the pid is gone,
      // but orphaned backends may still hold shared memory for a moment: retry briefly.
      for (let attempt = 1;; attempt++) {
        try {
          await start();
          return;
        } catch (error) {
          if (attempt >= 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await run(`${bin}/pg_ctl`, ["-D", dataDir, "-m", "immediate", "-w", "stop"], {
        asPostgres: true,
        allowFailure: true,
      });
      await Deno.remove(root, { recursive: true });
    },
  };
}
