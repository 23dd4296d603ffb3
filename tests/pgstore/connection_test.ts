import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { freePort } from "../_helpers.ts";
import { PersistError } from "../../src/errors.ts";
import {
  openStore,
  redactSecrets,
  redactStoreUrl,
  resolveStoreUrl,
} from "../../src/pgstore/connection.ts";
import { pgAvailable, startPgCluster } from "./_pg_cluster.ts";

Deno.test("redactStoreUrl() hides the password and a password= option, keeps the rest", () => {
  assertEquals(
    redactStoreUrl("postgres://ship:s3cret@db.example:5432/team?sslmode=require"),
    "postgres://ship:***@db.example:5432/team?sslmode=require",
  );
  assertEquals(redactStoreUrl("postgres://ship@db/team"), "postgres://ship@db/team");
  assertEquals(
    redactStoreUrl("postgresql://db/team?user=ship&password=hunter2&sslmode=verify-full"),
    "postgresql://db/team?user=ship&password=***&sslmode=verify-full",
  );
  // A sloppy password holding "@" and "/" still disappears whole.
  assertEquals(redactStoreUrl("postgres://ship:p@ss/w@db/team"), "postgres://ship:***@db/team");
});

Deno.test("redactSecrets() removes the raw and the percent-decoded password from text", () => {
  const url = "postgres://ship:p%40ss%21@db/team";
  const text = `failed for ${url}: password p@ss! was wrong, raw p%40ss%21`;
  const redacted = redactSecrets(text, url);
  assert(!redacted.includes("p@ss!") && !redacted.includes("p%40ss%21"), redacted);
  assert(redacted.includes("postgres://ship:***@db/team"), redacted);
});

Deno.test("resolveStoreUrl() takes the flag, then the environment, then the config file", () => {
  assertEquals(resolveStoreUrl({}), undefined);
  assertEquals(resolveStoreUrl({ config: "" }), undefined);
  assertEquals(resolveStoreUrl({ config: "postgres://c/db" }), "postgres://c/db");
  assertEquals(
    resolveStoreUrl({ env: "postgres://e/db", config: "postgres://c/db" }),
    "postgres://e/db",
  );
  assertEquals(
    resolveStoreUrl({ flag: "postgres://f/db", env: "postgres://e/db", config: "postgres://c/db" }),
    "postgres://f/db",
  );
});

Deno.test("resolveStoreUrl() refuses a URL that is not postgres://, shown redacted", () => {
  let caught: unknown;
  try {
    resolveStoreUrl({ flag: "mysql://root:topsecret@db/team" });
  } catch (error) {
    caught = error;
  }
  assert(caught instanceof PersistError && caught.exitCode === 2, String(caught));
  assert(!caught.message.includes("topsecret"), caught.message);
  assert(caught.message.includes("mysql://root:***@db/team"), caught.message);
});

Deno.test("openStore() of a port nobody listens on is store_unreachable, exit 69, redacted", async () => {
  const url = `postgres://ship:topsecret@127.0.0.1:${freePort()}/team`;
  const error = await assertRejects(
    () => openStore(url, { connectTimeoutSeconds: 5 }),
    PersistError,
  );
  assertEquals(error.code, "store_unreachable");
  assertEquals(error.exitCode, 69);
  assert(!error.message.includes("topsecret"), error.message);
  assert(
    error.message.startsWith("Cannot connect to the store postgres://ship:***@127.0.0.1"),
    error.message,
  );
});

Deno.test({
  name: "openStore() connects to a real server; a wrong password is refused without showing it",
  ignore: !pgAvailable,
}, async () => {
  const cluster = await startPgCluster();
  try {
    await cluster.psql("CREATE ROLE shipper LOGIN PASSWORD 'right-one'");
    await cluster.psql("ALTER SYSTEM SET password_encryption = 'scram-sha-256'");
    // Password authentication for this role on TCP; trust stays for the superuser.
    await Deno.writeTextFile(
      `${cluster.dataDir}/pg_hba.conf`,
      "host all shipper 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 trust\nlocal all all trust\n",
    );
    await cluster.psql("SELECT pg_reload_conf()");
    const store = await openStore(cluster.url);
    try {
      const [row] = await store.sql<{ one: number }[]>`SELECT 1 AS one`;
      assertEquals(row?.one, 1);
    } finally {
      await store.close();
    }
    const good = await openStore(`postgres://shipper:right-one@127.0.0.1:${cluster.port}/postgres`);
    await good.close();
    const wrong = `postgres://shipper:wrong-secret@127.0.0.1:${cluster.port}/postgres`;
    const error = await assertRejects(() => openStore(wrong), PersistError);
    assertEquals(error.code, "store_unreachable");
    assert(!error.message.includes("wrong-secret"), error.message);
    assert(error.message.includes("shipper:***@"), error.message);
  } finally {
    await cluster.stop();
  }
});

Deno.test({
  name: "openStore() passes sslmode through: require against a server without TLS is refused",
  ignore: !pgAvailable,
}, async () => {
  const cluster = await startPgCluster();
  try {
    const plain = await openStore(`${cluster.url}?sslmode=disable`);
    await plain.close();
    const error = await assertRejects(
      () => openStore(`${cluster.url}?sslmode=require`, { connectTimeoutSeconds: 5 }),
      PersistError,
    );
    assert(error.message.startsWith("Cannot connect to the store"), error.message);
    // libpq options that are server settings pass through too.
    const named = await openStore(`${cluster.url}?application_name=ship-test`);
    try {
      const [row] = await named.sql<
        { name: string }[]
      >`SELECT current_setting('application_name') AS name`;
      assertEquals(row?.name, "ship-test");
    } finally {
      await named.close();
    }
  } finally {
    await cluster.stop();
  }
});
