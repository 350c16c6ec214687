// Issue 15.1: `ampere serve 2>&1 | head` — once the reader of stdout/stderr has gone, the server
// ignored SIGTERM and SIGINT and needed SIGKILL. A real process, a real broken pipe.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { freePort, tempDir } from '../helpers/process.ts';

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  it(`shutdown with a broken log pipe: ${signal} still drains and exits 0`, async () => {
    const port = await freePort();
    // No AMPERE_API_TOKEN: the server writes the generated token to stderr, its URL to stdout,
    // and (log level info) JSON lines to stderr: every one of them into a pipe nobody reads.
    const proc = spawn(
      process.execPath,
      ['bin/ampere.js', 'serve', '--host', '127.0.0.1', '--port', String(port), '--data', tempDir()],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } },
    );
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    // Whatever happens, no process is left behind.
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    // The reader goes away at once, like `head` after its first line.
    proc.stdout!.destroy();
    proc.stderr!.destroy();
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      up = await fetch(`http://127.0.0.1:${port}/api/openapi.json`).then(
        (r) => r.ok,
        () => false,
      );
      if (!up) await new Promise((r) => setTimeout(r, 50));
    }
    if (!up) proc.kill('SIGKILL');
    assert.ok(up, 'the server kept serving with nobody reading its output');
    // More log lines into the broken pipe.
    for (let i = 0; i < 5; i++) await fetch(`http://127.0.0.1:${port}/api/chargers`);
    proc.kill(signal);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, `exit code ${code} (null = it had to be killed)`);
  });
}
