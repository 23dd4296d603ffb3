import { assert, assertEquals } from "../_assert.ts";
import { runningInCi } from "../../src/config.ts";
import { decodeStoredFrames, type StoredFrame } from "../../src/store/record.ts";
import {
  brokerEndpoints,
  connectPublisher,
  daemonStatus,
  messagesOn,
  readRecords,
  spawnCli,
  startDaemon,
  tempDir,
  waitFor,
  waitForDurable,
  warmUp,
} from "../_helpers.ts";

const NO_SANITIZE = { sanitizeOps: false, sanitizeResources: false } as const;
const PYTHON = "/usr/bin/python3";

Deno.test({
  name: "the broker killed and restarted mid-stream: recording resumes, down/up recorded",
  ...NO_SANITIZE,
  async fn() {
    const dir = await tempDir("broker_restart");
    const endpoints = brokerEndpoints();
    const brokerArgs = ["broker", "--frontend", endpoints.frontend, "--backend", endpoints.backend];
    let broker = await spawnCli(brokerArgs, `${dir.path}/broker1.log`);
    const dataDir = `${dir.path}/data`;
    const daemon = await startDaemon(dataDir, endpoints.backend);
    const publisher = connectPublisher(endpoints.frontend);
    try {
      let baseline = await warmUp(publisher, dataDir);
      for (let i = 0; i < 100; i++) await publisher.send(["before", `before ${i}`]);
      await waitForDurable(dataDir, baseline, 100);
      await broker.kill("SIGKILL");
      await waitFor("the daemon to notice the broker is gone", async () => {
        return (await daemonStatus(dataDir))?.broker_connected === false;
      });
      broker = await spawnCli(brokerArgs, `${dir.path}/broker2.log`);
      baseline = await warmUp(publisher, dataDir);
      for (let i = 0; i < 100; i++) await publisher.send(["after", `after ${i}`]);
      await waitForDurable(dataDir, baseline, 100);
      assertEquals((await daemon.kill("SIGTERM")).code, 0);
      const records = await readRecords(`${dataDir}/current_session.jsonl`);
      assertEquals(messagesOn(records, "before").length, 100);
      assertEquals(messagesOn(records, "after").length, 100);
      const events = records.map((record) => record.type).filter((type) =>
        type.startsWith("broker")
      );
      assertEquals(events.slice(0, 3), ["broker_up", "broker_down", "broker_up"]);
    } finally {
      publisher.close();
      await daemon.kill();
      await broker.kill();
      await dir.cleanup();
    }
  },
});

const PYTHON_PEER = `
import sys, time, json, zmq
mode, frontend, backend = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = zmq.Context()
if mode == "broker":
    xsub = ctx.socket(zmq.XSUB); xsub.bind(frontend)
    xpub = ctx.socket(zmq.XPUB); xpub.bind(backend)
    zmq.proxy(xsub, xpub)
else:
    pub = ctx.socket(zmq.PUB); pub.connect(frontend)
    time.sleep(1.5)  # slow joiner
    for i in range(50):
        pub.send_multipart([b"py.agent", json.dumps({"from": "python", "to": "deno", "type": "chat",
                            "content": "hello from pyzmq %d" % i}).encode()])
    pub.send_multipart([b"py.bin", bytes(range(256))])
    pub.send_string('py.single {"agent": "py", "text": "one frame"}')
    time.sleep(0.5)
`;

async function pythonHasZmq(): Promise<boolean> {
  try {
    const result = await new Deno.Command(PYTHON, { args: ["-c", "import zmq"], stderr: "null" })
      .output();
    return result.success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

const havePython = await pythonHasZmq();
if (!havePython && !runningInCi()) {
  console.warn("skipping pyzmq interop test: install python3-zmq (.ci/run does) to run it");
}

Deno.test({
  name: "a pyzmq zmq.proxy broker and a pyzmq publisher are recorded correctly",
  ...NO_SANITIZE,
  ignore: !havePython && !runningInCi(),
  async fn() {
    assert(havePython, "python3-zmq is required in CI: .ci/run installs it");
    const dir = await tempDir("pyzmq");
    const script = `${dir.path}/peer.py`;
    await Deno.writeTextFile(script, PYTHON_PEER);
    const endpoints = brokerEndpoints();
    const python = (mode: string) =>
      new Deno.Command(PYTHON, {
        args: [script, mode, endpoints.frontend, endpoints.backend],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
    const broker = python("broker");
    const dataDir = `${dir.path}/data`;
    const daemon = await startDaemon(dataDir, endpoints.backend);
    try {
      await waitFor("the daemon to connect to the python broker", async () => {
        return (await daemonStatus(dataDir))?.broker_connected === true;
      });
      const publisher = await python("publisher").output();
      assert(publisher.success, new TextDecoder().decode(publisher.stderr));
      await waitForDurable(dataDir, 0, 52);
      assertEquals((await daemon.kill("SIGTERM")).code, 0);
      const records = await readRecords(`${dataDir}/current_session.jsonl`);
      const chats = messagesOn(records, "py.agent");
      assertEquals(chats.length, 50);
      const meta = chats[7]!.meta as Record<string, unknown>;
      assertEquals([meta.sender, meta.recipient, meta.kind], ["python", "deno", "chat"]);
      assertEquals(meta.preview, "hello from pyzmq 7");
      const binary = messagesOn(records, "py.bin")[0]!;
      const frames = decodeStoredFrames(binary.frames as StoredFrame[]);
      assertEquals([...frames[1]!], Array.from({ length: 256 }, (_, i) => i));
      const single = messagesOn(records, "py.single")[0]!;
      assertEquals((single.meta as Record<string, unknown>).sender, "py");
    } finally {
      await daemon.kill();
      killQuietly(broker);
      await broker.status;
      await broker.stderr.cancel();
      await dir.cleanup();
    }
  },
});

function killQuietly(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch (error) {
    if (!(error instanceof TypeError)) throw error; // TypeError: it had already exited
  }
}
