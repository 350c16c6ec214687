// `npm start` under a container runtime or a service manager that signals only npm: npm passes
// SIGTERM to the shell running the script, and a shell that does not exec left the server running
// with nobody to stop it. The start script execs node, so the server gets the signal and drains.
import assert from 'node:assert/strict';
import { execSync, spawn } from 'node:child_process';
import { it } from 'node:test';
import { freePort, tempDir } from '../helpers/process.ts';

const up = (port: number) =>
  fetch(`http://127.0.0.1:${port}/api/openapi.json`).then(
    (r) => r.ok,
    () => false,
  );

it('SIGTERM to `npm start` alone drains the server and stops it', async () => {
  const port = await freePort();
  // The server refuses AMPERE_* variables it does not know, such as the test suite's own.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AMPERE_')));
  const npm = spawn('npm', ['start', '--', '--host', '127.0.0.1', '--port', String(port), '--data', tempDir()], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let out = '';
  npm.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  npm.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
  let listening = false;
  for (let i = 0; i < 300 && !listening; i++) {
    listening = await up(port);
    if (!listening) await new Promise((r) => setTimeout(r, 50));
  }
  try {
    assert.ok(listening, `the server did not come up:\n${out}`);
    // Only npm gets the signal, as `docker stop` gives it to PID 1.
    npm.kill('SIGTERM');
    await exited;
    let stopped = false;
    for (let i = 0; i < 200 && !stopped; i++) {
      stopped = !(await up(port));
      if (!stopped) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(stopped, 'the server still answers after npm was told to stop');
    assert.match(out, /ampere stopped/, 'the server drained and said so');
  } finally {
    // Never leave a server behind, whatever failed above.
    if (await up(port)) {
      execSync(`pkill -f -- '--port ${port} '`, { stdio: 'ignore' });
    }
  }
});
