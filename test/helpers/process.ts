// Spawns `ampere serve` as a real process and reads the URL from its first stdout line.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface ServerProcess {
  url: string;
  wsUrl: string;
  data: string;
  proc: ChildProcess;
  stderr: () => string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (kill -9) and wait. */
  kill(): Promise<void>;
}

/** A TCP port free right now (for a server or HAProxy that must be given a number). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix = 'ampere-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function spawnServer(
  args: string[] = [],
  opts: { data?: string; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  const data = opts.data ?? tempDir();
  const proc = spawn(
    process.execPath,
    ['bin/ampere.js', 'serve', '--port', '0', '--data', data, '--log-level', 'warn', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env },
    },
  );
  let err = '';
  proc.stderr!.on('data', (d) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', (line) => resolve(line.trim()));
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    data,
    proc,
    stderr: () => err,
    async stop() {
      proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `ampere ARGS…` as a child process with only the given environment (plus PATH and HOME). */
export function runCli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<CliRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['bin/ampere.js', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d) => {
      stdout += d;
    });
    p.stderr!.on('data', (d) => {
      stderr += d;
    });
    if (stdin !== undefined) p.stdin!.end(stdin);
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A JSON client of a server's API on 127.0.0.1:`port`; undefined for an answer that is not 2xx. */
export function apiClient(port: string, token: string) {
  return async (path: string, init: RequestInit = {}): Promise<any> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    return res.ok ? await res.json() : undefined;
  };
}

/**
 * `ampere simulate` as a process: an Eaton Green Motion in card mode (CsMode 0) at
 * ws://127.0.0.1:`port`/ocppj/v1.6/`id`, a meter value every second, and its backoff shortened to
 * 1 s so a test waits 1 s instead of 10-16 s for a reconnect.
 */
export function spawnEatonSimulator(port: string, id: string): ChildProcess {
  return spawn(
    process.execPath,
    [
      'bin/ampere.js',
      'simulate',
      '--profile',
      'eaton-green-motion',
      '--url',
      `ws://127.0.0.1:${port}/ocppj/v1.6`,
      '--id',
      id,
      '--quiet',
      ...['RetryBackoffWaitMinimum=1', 'RetryBackoffRandomRange=0', 'MeterValueSampleInterval=1', 'CsMode=0'].flatMap(
        (c) => ['--config', c],
      ),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } },
  );
}
