// Shared by the bridge suites: a real mosquitto started on a free port with a temp config file
// (and killed and restarted for the broker-restart test), and an MQTT client that records what it sees.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { tempDir } from '../helpers/process.ts';

export const MOSQUITTO = process.env.AMPERE_TEST_MOSQUITTO ?? '/usr/sbin/mosquitto';

export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ port, host: '127.0.0.1' });
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

export interface Mosquitto {
  port: number;
  url: string;
  /** kill -9 (no clean shutdown, no persistence: retained messages are gone). */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface MosquittoOptions {
  /** Serve mqtts with this certificate, key and CA (PEM files). */
  tls?: { cert: string; key: string; ca: string };
  /** Only these users may connect (a password file made with mosquitto_passwd). */
  users?: Record<string, string>;
}

/** A real mosquitto on a free port, configured by a temp file: anonymous unless `users`, no persistence. */
export async function startMosquitto(o: MosquittoOptions = {}): Promise<Mosquitto> {
  const port = await freePort();
  const dir = tempDir('ampere-mosquitto-');
  const conf = join(dir, 'mosquitto.conf');
  const lines = [`listener ${port} 127.0.0.1`, 'persistence false', 'log_dest none'];
  // Started as root, mosquitto reads its files as the user mosquitto: they live in its own readable folder.
  chmodSync(dir, 0o755);
  const readable = (name: string, from: string) => {
    const to = join(dir, name);
    copyFileSync(from, to);
    chmodSync(to, 0o644);
    return to;
  };
  if (o.tls) {
    const files = [readable('cert.pem', o.tls.cert), readable('key.pem', o.tls.key), readable('ca.pem', o.tls.ca)];
    lines.push(`certfile ${files[0]}`, `keyfile ${files[1]}`, `cafile ${files[2]}`);
  }
  if (o.users) {
    const file = join(dir, 'passwords');
    writeFileSync(file, '');
    for (const [user, password] of Object.entries(o.users)) {
      execFileSync(`${dirname(MOSQUITTO).replace(/sbin$/, 'bin')}/mosquitto_passwd`, ['-b', file, user, password]);
    }
    chmodSync(file, 0o644);
    lines.push('allow_anonymous false', `password_file ${file}`);
  } else lines.push('allow_anonymous true');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
    const p = proc;
    let exited = false;
    p.once('exit', () => {
      exited = true;
    });
    await until('mosquitto to listen', async () => {
      assert.ok(!exited, `${MOSQUITTO} exited at start (is the mosquitto package installed?)`);
      return accepts(port);
    });
  };
  const kill = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  };
  await start();
  return { port, url: `${o.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`, kill, restart: start, stop: kill };
}

export interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
}

/** An MQTT client subscribed to `filters`, recording every message. */
export class Observer {
  readonly seen: Seen[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.seen.push({ topic, payload: payload.toString(), retain: packet.retain });
    });
  }

  static async connect(url: string, filters: string[], opts: { username?: string; password?: string } = {}) {
    const client = await connectAsync(url, { reconnectPeriod: 200, ...opts });
    const o = new Observer(client);
    await client.subscribeAsync(filters, { qos: 1 });
    return o;
  }

  /** The last payload on a topic. */
  last(topic: string): string | undefined {
    for (let i = this.seen.length - 1; i >= 0; i--) if (this.seen[i]!.topic === topic) return this.seen[i]!.payload;
    return undefined;
  }

  values(topic: string): string[] {
    return this.seen.filter((s) => s.topic === topic).map((s) => s.payload);
  }

  /** Waits for a message on `topic` (matching `payload`) among those seen from index `from` on. */
  async waitFor(topic: string, payload?: string | ((p: string) => boolean), from = 0): Promise<string> {
    const match = (p: string) => payload === undefined || (typeof payload === 'string' ? p === payload : payload(p));
    let found: string | undefined;
    await until(`${topic}${typeof payload === 'string' ? ` = ${payload}` : ''}`, () => {
      const hit = this.seen.slice(from).find((s) => s.topic === topic && match(s.payload));
      found = hit?.payload;
      return hit !== undefined;
    });
    return found!;
  }

  /** Publishes a command and waits for a result published after it. */
  async command(prefix: string, path: string, command: string, payload: string): Promise<any> {
    const resultTopic = `${prefix}/${path}/result/${command}`;
    const before = this.seen.length;
    await this.client.publishAsync(`${prefix}/${path}/set/${command}`, payload, { qos: 1 });
    let result: string | undefined;
    await until(`result on ${resultTopic}`, () => {
      result = this.seen.slice(before).find((s) => s.topic === resultTopic)?.payload;
      return result !== undefined;
    });
    return JSON.parse(result!);
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

export const KNXD = process.env.AMPERE_TEST_KNXD ?? '/usr/bin/knxd';

/** A free UDP port on 127.0.0.1. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

/** knxd as a KNXnet/IP tunnelling server on a free port, with a dummy bus behind it. */
export async function startKnxd(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freeUdpPort();
  const proc = spawn(KNXD, ['-e', '0.0.1', '-E', '0.0.2:8', '-T', '-S', `224.0.23.12:${port}`, '-b', 'dummy'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise((r) => proc.once('exit', r));
  await until(`knxd to listen on udp ${port}`, () => {
    assert.equal(proc.exitCode, null, `${KNXD} exited at start: ${err} (is the knxd package installed?)`);
    return readFileSync('/proc/net/udp', 'utf8').includes(`:${port.toString(16).toUpperCase().padStart(4, '0')} `);
  });
  return {
    port,
    stop: async () => {
      if (proc.exitCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}
