// The store's background threads (the writer and the checkpointer) run at a lower scheduling
// priority than the event loop. Every answer to a charger comes from the event loop thread, and on
// a busy machine it competed for a core with them: measured on two cores under the closed-loop
// bench, the event loop waited for a core 14-16 % of the time with them at the same priority,
// 10-12 % with them at nice 10, and answered 8-15 % more messages a second (bench/README.md).
// They still get their share: CFS gives a nice-10 thread about a tenth of a core against one
// busy nice-0 thread, all of an idle one.
//
// Linux only: setpriority() on a thread id sets that thread's nice value alone, and
// /proc/thread-self names the calling thread. Elsewhere it does nothing. Raising the nice value
// needs no privilege.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The nice value of the store's background threads. */
export const BACKGROUND_NICE = 10;

/** Lowers the calling thread's priority to `nice`; false where the platform does not allow it. */
export function lowerThisThread(nice: number = BACKGROUND_NICE): boolean {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid)) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}

/**
 * The same for a thread whose code is plain source evaluated in a worker (the checkpointer): one
 * statement that needs nothing but `require`.
 */
export const LOWER_THIS_THREAD_SOURCE = `try {
  require('node:os').setPriority(Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop()), ${BACKGROUND_NICE});
} catch {}`;
