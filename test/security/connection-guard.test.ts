// The connection guard forgets a connection once its handshake is done: nothing of it stays on
// the socket for the connection's life (its close listener held the entry and the cleared timer,
// ~0.4 KiB per connected charger). A real TCP connection to a real port.
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { it } from 'node:test';
import { ConnectionGuard } from '../../src/central/security/connection-guard.ts';

it('a settled connection keeps no listener of the guard; a pending one is counted until it closes', async () => {
  const guard = new ConnectionGuard({ maxPendingPerAddress: 10, handshakeTimeoutMs: 5_000 });
  const accepted: Socket[] = [];
  const server = createServer((s) => {
    const before = s.listenerCount('close');
    guard.onConnection(s);
    assert.equal(s.listenerCount('close'), before + 1, 'the guard listens while the handshake runs');
    accepted.push(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const clients = [connect(port, '127.0.0.1'), connect(port, '127.0.0.1')];
  try {
    while (accepted.length < 2) await new Promise((r) => setTimeout(r, 10));
    assert.equal(guard.pendingFor('127.0.0.1'), 2);
    const [done, waiting] = accepted as [Socket, Socket];
    const listeners = done.listenerCount('close');
    guard.settle(done);
    assert.equal(done.listenerCount('close'), listeners - 1, 'settled: its close listener is gone');
    assert.equal(guard.pendingFor('127.0.0.1'), 1);
    // The one still in its handshake is counted until its socket closes.
    clients[1]!.destroy();
    await new Promise<void>((r) => waiting.once('close', () => r()));
    await new Promise((r) => setImmediate(r));
    assert.equal(guard.pendingFor('127.0.0.1'), 0);
  } finally {
    for (const c of clients) c.destroy();
    for (const s of accepted) s.destroy();
    await new Promise((r) => server.close(r));
  }
});
