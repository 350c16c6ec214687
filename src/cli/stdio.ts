// Standard output and error may be pipes whose reader goes away (`ampere serve 2>&1 | head`).
// Node then emits EPIPE as an 'error' event on the stream; unhandled, it is an uncaught exception
// in the middle of serving, and the process neither serves nor stops cleanly. Logging must never
// block shutdown: a broken stream is simply not written to any more, and SIGTERM still drains.
import type { Writable } from 'node:stream';

const GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED']);

/** Makes `streams` (default: stdout and stderr) drop their writes once their reader has gone. */
export function guardStdio(streams: Writable[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (!GONE.has(err.code ?? '')) throw err;
      // Nobody reads any more: later writes succeed without effect.
      stream.write = ((_chunk: unknown, encoding?: unknown, cb?: unknown) => {
        const done = typeof encoding === 'function' ? encoding : cb;
        if (typeof done === 'function') process.nextTick(done as () => void);
        return true;
      }) as Writable['write'];
    });
  }
}
