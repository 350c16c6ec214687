// Spawns `ampere serve` as a real process and reads the URL from its first stdout line.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
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
