import { type Config, CONFIG_ENV_VARS, DEFAULT_CONFIG, resolveConfig } from "../src/config.ts";
import { UsageError } from "../src/errors.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

const NO_ENV: Readonly<Record<string, string>> = Object.freeze({});

/** Runs `fn` with a config file holding `content` (a string as is, anything else as JSON). */
function withConfigFile<T>(content: unknown, fn: (path: string) => T): T {
  const dir = Deno.makeTempDirSync({ prefix: "shearwater_config_" });
  try {
    const path = `${dir}/shearwater.json`;
    Deno.writeTextFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
    return fn(path);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/** The settings the README documents, so that settings added later do not break these tests. */
const README_SETTINGS = [
  "dataDir",
  "frontend",
  "backend",
  "topics",
  "exclude",
  "syncMode",
  "syncMs",
  "heartbeatMs",
  "logLevel",
] as const;

function readmeSettings(config: Config): Record<string, unknown> {
  return Object.fromEntries(README_SETTINGS.map((key) => [key, config[key]]));
}

Deno.test("resolveConfig() returns the defaults when nothing is set", () => {
  const config = resolveConfig({}, NO_ENV);
  assertEquals(readmeSettings(config), {
    dataDir: "conversation_logs",
    frontend: "tcp://127.0.0.1:5559",
    backend: "tcp://127.0.0.1:5560",
    topics: [],
    exclude: [],
    syncMode: "interval",
    syncMs: 2,
    heartbeatMs: 1000,
    logLevel: "info",
  });
  assertEquals(config, { ...DEFAULT_CONFIG });
});

Deno.test("resolveConfig() ranks flags over env over config file over defaults", () => {
  withConfigFile({
    dataDir: "from-file",
    frontend: "tcp://10.0.0.1:1",
    backend: "tcp://10.0.0.1:2",
    syncMs: 7,
  }, (path) => {
    const env = {
      SHEARWATER_CONFIG: path,
      SHEARWATER_DATA_DIR: "from-env",
      SHEARWATER_BACKEND: "tcp://10.0.0.2:2",
    };
    const config = resolveConfig({ dataDir: "from-flag" }, env);
    assertEquals(config.dataDir, "from-flag", "flag beats env and file");
    assertEquals(config.backend, "tcp://10.0.0.2:2", "env beats file");
    assertEquals(config.frontend, "tcp://10.0.0.1:1", "file beats default");
    assertEquals(config.syncMs, 7, "file beats default");
    assertEquals(config.heartbeatMs, 1000, "default when nobody sets it");
  });
});

Deno.test("resolveConfig() takes the config file from the flag over SHEARWATER_CONFIG", () => {
  withConfigFile({ dataDir: "flag-file" }, (flagPath) => {
    withConfigFile({ dataDir: "env-file" }, (envPath) => {
      assertEquals(
        resolveConfig({ configFile: flagPath }, { SHEARWATER_CONFIG: envPath }).dataDir,
        "flag-file",
      );
      assertEquals(resolveConfig({}, { SHEARWATER_CONFIG: envPath }).dataDir, "env-file");
    });
  });
});

Deno.test("resolveConfig() reads every setting from its environment variable", () => {
  const env: Record<string, string> = {
    [CONFIG_ENV_VARS.dataDir]: "/tmp/shearwater-data",
    [CONFIG_ENV_VARS.frontend]: "ipc:///tmp/front.sock",
    [CONFIG_ENV_VARS.backend]: "inproc://backend",
    [CONFIG_ENV_VARS.topics]: "agent.,system",
    [CONFIG_ENV_VARS.exclude]: "agent.noise*",
    [CONFIG_ENV_VARS.syncMode]: "always",
    [CONFIG_ENV_VARS.syncMs]: "0",
    [CONFIG_ENV_VARS.heartbeatMs]: "250",
    [CONFIG_ENV_VARS.logLevel]: "debug",
  };
  const expected: Record<string, unknown> = {
    dataDir: "/tmp/shearwater-data",
    frontend: "ipc:///tmp/front.sock",
    backend: "inproc://backend",
    topics: ["agent.", "system"],
    exclude: ["agent.noise*"],
    syncMode: "always",
    syncMs: 0,
    heartbeatMs: 250,
    logLevel: "debug",
  };
  assertEquals(readmeSettings(resolveConfig({}, env)), expected);
});

Deno.test("resolveConfig() splits comma-separated topics from the environment", () => {
  const config = resolveConfig({}, {
    SHEARWATER_TOPICS: " agent.claude , agent.gemini,,system. ,",
    SHEARWATER_EXCLUDE: "a*,b?",
  });
  assertEquals(config.topics, ["agent.claude", "agent.gemini", "system."]);
  assertEquals(config.exclude, ["a*", "b?"]);
});

Deno.test("resolveConfig() lets topic flags replace env topics", () => {
  const config = resolveConfig({ topics: ["flag.topic"] }, { SHEARWATER_TOPICS: "env.topic" });
  assertEquals(config.topics, ["flag.topic"]);
});

Deno.test("resolveConfig() ignores empty environment variables", () => {
  const config = resolveConfig({}, { SHEARWATER_DATA_DIR: "", SHEARWATER_SYNC_MS: "" });
  assertEquals(config.dataDir, "conversation_logs");
  assertEquals(config.syncMs, 2);
});

Deno.test("resolveConfig() parses string values in the config file like env values", () => {
  withConfigFile({ syncMs: "12", topics: "a, b", exclude: ["x*"] }, (path) => {
    const config = resolveConfig({ configFile: path }, NO_ENV);
    assertEquals(config.syncMs, 12);
    assertEquals(config.topics, ["a", "b"]);
    assertEquals(config.exclude, ["x*"]);
  });
});

Deno.test("resolveConfig() rejects a bad endpoint with an example of a good one", () => {
  for (
    const [flags, key] of [[{ frontend: "127.0.0.1:5559" }, "frontend"], [
      { backend: "" },
      "backend",
    ]] as const
  ) {
    const error = assertThrows(() => resolveConfig(flags, NO_ENV), UsageError, `Invalid ${key}`);
    assert(error.message.includes("tcp://127.0.0.1:5560"), error.message);
    assertEquals(error.exitCode, 2);
  }
  assertThrows(
    () => resolveConfig({}, { SHEARWATER_BACKEND: "http://localhost" }),
    UsageError,
    '"http://localhost"',
  );
});

Deno.test("resolveConfig() rejects an unknown sync mode", () => {
  const error = assertThrows(
    () => resolveConfig({}, { SHEARWATER_SYNC: "sometimes" }),
    UsageError,
    'Invalid sync mode "sometimes"',
  );
  assert(error.message.includes('"interval" or "always"'), error.message);
});

Deno.test("resolveConfig() rejects a sync-ms that is not a whole number, naming its source", () => {
  for (const raw of ["5ms", "1.5", "abc", "5 5"]) {
    const error = assertThrows(
      () => resolveConfig({}, { SHEARWATER_SYNC_MS: raw }),
      UsageError,
      "SHEARWATER_SYNC_MS",
    );
    assert(error.message.includes(`"${raw}": expected a whole number`), error.message);
  }
  assertThrows(() => resolveConfig({ syncMs: 2.5 }, NO_ENV), UsageError, "Invalid syncMs 2.5");
});

Deno.test("resolveConfig() rejects out-of-range intervals with the allowed range", () => {
  assertThrows(() => resolveConfig({ syncMs: -1 }, NO_ENV), UsageError, "from 0 to 10000");
  assertThrows(() => resolveConfig({ syncMs: 10_001 }, NO_ENV), UsageError, "from 0 to 10000");
  assertEquals(resolveConfig({ syncMs: 10_000 }, NO_ENV).syncMs, 10_000);
  assertThrows(() => resolveConfig({ heartbeatMs: 49 }, NO_ENV), UsageError, "from 50 to 600000");
  assertThrows(
    () => resolveConfig({}, { SHEARWATER_HEARTBEAT_MS: "600001" }),
    UsageError,
    "from 50 to 600000",
  );
  assertEquals(resolveConfig({ heartbeatMs: 50 }, NO_ENV).heartbeatMs, 50);
});

Deno.test("resolveConfig() rejects an unknown log level and an empty data dir", () => {
  assertThrows(
    () => resolveConfig({}, { SHEARWATER_LOG_LEVEL: "loud" }),
    UsageError,
    "use debug, info, warn or error",
  );
  assertThrows(() => resolveConfig({ dataDir: "  " }, NO_ENV), UsageError, "Invalid data dir");
});

Deno.test("resolveConfig() rejects an unknown key in the config file, listing the known ones", () => {
  withConfigFile({ dataDir: "x", syncMilliseconds: 5 }, (path) => {
    const error = assertThrows(
      () => resolveConfig({ configFile: path }, NO_ENV),
      UsageError,
      'unknown setting "syncMilliseconds"',
    );
    assert(error.message.includes(path), error.message);
    assert(error.message.includes("syncMs"), error.message);
  });
});

Deno.test("resolveConfig() rejects a config file that is not JSON or not an object", () => {
  withConfigFile("{ dataDir: 'x' ", (path) => {
    const error = assertThrows(
      () => resolveConfig({ configFile: path }, NO_ENV),
      UsageError,
      "not valid JSON",
    );
    assert(error.message.includes(path), error.message);
  });
  withConfigFile([1, 2], (path) => {
    assertThrows(
      () => resolveConfig({ configFile: path }, NO_ENV),
      UsageError,
      "must hold a JSON object",
    );
  });
});

Deno.test("resolveConfig() rejects a missing config file", () => {
  const dir = Deno.makeTempDirSync({ prefix: "shearwater_config_" });
  try {
    assertThrows(
      () => resolveConfig({}, { SHEARWATER_CONFIG: `${dir}/missing.json` }),
      UsageError,
      `Cannot read config file "${dir}/missing.json"`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("resolveConfig() rejects invalid values from the config file too", () => {
  withConfigFile({ syncMode: "never" }, (path) => {
    assertThrows(() => resolveConfig({ configFile: path }, NO_ENV), UsageError, "sync mode");
  });
  withConfigFile({ syncMs: "fast" }, (path) => {
    const error = assertThrows(
      () => resolveConfig({ configFile: path }, NO_ENV),
      UsageError,
      '"fast": expected a whole number from 0 to 10000',
    );
    assert(error.message.includes(path), error.message);
  });
});

// Regression (fixed; this was the bug): config-file values are not type-checked, so a
// non-string dataDir or a non-array topics crashes with a TypeError (exit 70, a stack) instead
// of a UsageError.
Deno.test("resolveConfig() rejects config-file values of the wrong type with UsageError", () => {
  for (
    const content of [{ dataDir: 5 }, { topics: 5 }, { exclude: { a: 1 } }, { topics: [1, 2] }]
  ) {
    withConfigFile(content, (path) => {
      assertThrows(() => resolveConfig({ configFile: path }, NO_ENV), UsageError, path);
    });
  }
});

// Regression (fixed; this was the bug): the unknown-key check uses `key in DEFAULT_CONFIG`,
// which is true for Object.prototype names, so these keys are accepted and end up in the config.
Deno.test("resolveConfig() rejects config-file keys inherited from Object.prototype", () => {
  for (const key of ["toString", "constructor", "hasOwnProperty"]) {
    withConfigFile({ [key]: "x" }, (path) => {
      assertThrows(
        () => resolveConfig({ configFile: path }, NO_ENV),
        UsageError,
        `unknown setting "${key}"`,
      );
    });
  }
});

Deno.test("resolveConfig() returns a frozen config with frozen lists", () => {
  const config = resolveConfig({ topics: ["a"] }, NO_ENV);
  assert(Object.isFrozen(config), "config is frozen");
  assert(Object.isFrozen(config.topics), "topics are frozen");
  assert(Object.isFrozen(config.exclude), "exclude is frozen");
  assertThrows(() => {
    (config as { dataDir: string }).dataDir = "elsewhere";
  }, TypeError);
  assertThrows(() => (config.topics as string[]).push("b"), TypeError);
  assertEquals(config.dataDir, "conversation_logs");
  assertEquals(config.topics, ["a"]);
});

Deno.test("resolveConfig() does not share its lists with the caller's flags", () => {
  const topics = ["a"];
  const config = resolveConfig({ topics }, NO_ENV);
  topics.push("b");
  assertEquals(config.topics, ["a"]);
  assert(!("configFile" in config), "configFile is not a setting");
});

Deno.test("resolveConfig() reads numbers with one parser: decimal digits in range, text echoed", () => {
  for (const raw of ["0x10", "1e3", "-1", " 5", "1.0", "1_000", "99999999999999999999", ""]) {
    if (raw === "") continue; // an empty variable counts as unset
    const error = assertThrows(
      () => resolveConfig({}, { SHEARWATER_CHECKPOINT_EVERY: raw }),
      UsageError,
    );
    assertEquals(
      error.message,
      `Invalid checkpointEvery from environment variable SHEARWATER_CHECKPOINT_EVERY ` +
        `${JSON.stringify(raw)}: expected a whole number from 0 to 100000000`,
    );
  }
  assertEquals(resolveConfig({}, { SHEARWATER_CHECKPOINT_EVERY: "007" }).checkpointEvery, 7);
  withConfigFile({ syncMs: 1e20 }, (path) => {
    const error = assertThrows(() => resolveConfig({ configFile: path }, NO_ENV), UsageError);
    assertEquals(
      error.message,
      `Invalid syncMs in config file "${path}" 100000000000000000000: expected a whole number from 0 to 10000`,
    );
  });
  withConfigFile({ heartbeatMs: "0x100" }, (path) => {
    const error = assertThrows(() => resolveConfig({ configFile: path }, NO_ENV), UsageError);
    assert(error.message.includes(`"0x100": expected a whole number from 50 to 600000`));
  });
});

Deno.test("resolveConfig() reads blob threshold and max message size from flag, env and file", () => {
  const defaults = resolveConfig({}, NO_ENV);
  assertEquals([defaults.blobThresholdBytes, defaults.maxMessageBytes], [1048576, 1073741824]);
  withConfigFile({ blobThresholdBytes: 4096, maxMessageBytes: "5000000" }, (path) => {
    const fromFile = resolveConfig({ configFile: path }, NO_ENV);
    assertEquals([fromFile.blobThresholdBytes, fromFile.maxMessageBytes], [4096, 5000000]);
    const fromEnv = resolveConfig({ configFile: path }, {
      SHEARWATER_BLOB_THRESHOLD_BYTES: "2048",
      SHEARWATER_MAX_MESSAGE_BYTES: "9000",
    });
    assertEquals([fromEnv.blobThresholdBytes, fromEnv.maxMessageBytes], [2048, 9000]);
    const fromFlags = resolveConfig({ configFile: path, maxMessageBytes: 77 }, NO_ENV);
    assertEquals(fromFlags.maxMessageBytes, 77);
  });
});

Deno.test("resolveConfig() rejects a blob threshold or max message size out of range", () => {
  for (const key of ["blobThresholdBytes", "maxMessageBytes"] as const) {
    assertThrows(() => resolveConfig({ [key]: 0 }, NO_ENV), UsageError, `Invalid ${key} 0`);
  }
  assertThrows(
    () => resolveConfig({ blobThresholdBytes: 64 * 1024 * 1024 + 1 }, NO_ENV),
    UsageError,
    "expected a whole number from 1 to 67108864",
  );
  assertThrows(
    () => resolveConfig({}, { SHEARWATER_MAX_MESSAGE_BYTES: "1 GiB" }),
    UsageError,
    "SHEARWATER_MAX_MESSAGE_BYTES",
  );
});
