// Limits on connections that have not proven who they are yet: a cap per remote address, and a
// deadline by which the TCP (and TLS) connection must have become a WebSocket or sent a complete
// HTTP request. Slow or idle handshakes (slowloris) are cut off; a flood from one address cannot
// exhaust the server's sockets for everyone else.
import type { Socket } from 'node:net';

export interface ConnectionGuardOptions {
  /** Connections per address still in their handshake; 0 = no cap. */
  maxPendingPerAddress: number;
  /** ms from TCP accept to a complete request or upgrade; 0 = no deadline. */
  handshakeTimeoutMs: number;
  /** Called once per refused or timed-out connection (for logs and metrics). */
  onRefused?: (remoteAddress: string, reason: 'too-many-pending' | 'handshake-timeout') => void;
}

interface Pending {
  address: string;
  timer: NodeJS.Timeout | undefined;
  socket: Socket;
  onClose: () => void;
}

const key = (s: { remoteAddress?: string | undefined; remotePort?: number | undefined }) =>
  `${s.remoteAddress ?? '?'}|${s.remotePort ?? 0}`;

export class ConnectionGuard {
  private readonly perAddress = new Map<string, number>();
  /** By address|port: a TLS socket and the TCP socket under it share it. */
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly opts: ConnectionGuardOptions) {}

  /** Attach to a server's 'connection' event (for TLS servers: the raw TCP socket). */
  onConnection = (socket: Socket): void => {
    const address = socket.remoteAddress ?? '?';
    const k = key(socket);
    const count = this.perAddress.get(address) ?? 0;
    if (this.opts.maxPendingPerAddress > 0 && count >= this.opts.maxPendingPerAddress) {
      this.opts.onRefused?.(address, 'too-many-pending');
      socket.destroy();
      return;
    }
    this.perAddress.set(address, count + 1);
    const entry: Pending = { address, timer: undefined, socket, onClose: () => this.settle(socket) };
    if (this.opts.handshakeTimeoutMs > 0) {
      entry.timer = setTimeout(() => {
        if (this.pending.get(k) !== entry) return;
        this.opts.onRefused?.(address, 'handshake-timeout');
        socket.destroy();
      }, this.opts.handshakeTimeoutMs);
      entry.timer.unref();
    }
    this.pending.set(k, entry);
    socket.once('close', entry.onClose);
  };

  /** The connection has a complete request (or became a WebSocket): it no longer counts. */
  settle(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): void {
    const k = key(socket);
    const entry = this.pending.get(k);
    if (!entry) return;
    this.pending.delete(k);
    if (entry.timer) clearTimeout(entry.timer);
    // A settled connection keeps nothing of the guard: the close listener held the entry and its
    // timer for the socket's life, ~0.4 KiB per connected charger.
    entry.socket.off('close', entry.onClose);
    const n = (this.perAddress.get(entry.address) ?? 1) - 1;
    if (n <= 0) this.perAddress.delete(entry.address);
    else this.perAddress.set(entry.address, n);
  }

  pendingFor(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }
}
