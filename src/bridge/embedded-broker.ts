// `--mqtt embedded`: an MQTT broker (aedes) inside Ampere, for a box with nothing else on it.
// Home Assistant, Node-RED or evcc connect to it like to any broker; the bridge connects to it too.
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { AmpereError } from '../errors.ts';

export interface EmbeddedBroker {
  port: number;
  /** The URL the bridge itself connects to. */
  url: string;
  close(): Promise<void>;
}

export interface EmbeddedBrokerOptions {
  host: string;
  port: number;
  /** When set, every client must log in with this user name and password. */
  username?: string;
  password?: string;
}

export async function startEmbeddedBroker(o: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  if (o.username !== undefined) {
    const user = o.username;
    const password = Buffer.from(o.password ?? '');
    broker.authenticate = (_client, username, pass, done) => {
      const ok = username === user && pass !== undefined && Buffer.compare(Buffer.from(pass), password) === 0;
      if (ok) return done(null, true);
      // MQTT 3.1.1 §3.2.2.3: return code 4, bad user name or password.
      const err = Object.assign(new Error('bad user name or password'), { returnCode: 4 });
      done(err as never, false);
    };
  }
  const server: Server = createServer(broker.handle as never);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      broker.close();
      reject(
        new AmpereError(
          'AMPERE_ERR_CONFIG',
          `--mqtt embedded: cannot listen on ${o.host}:${o.port} (${e.code ?? e.message})${e.code === 'EADDRINUSE' ? ': another broker runs there; give another port, e.g. embedded://0.0.0.0:1884, or connect to it with --mqtt mqtt://…' : ''}`,
        ),
      );
    });
    server.listen(o.port, o.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const local = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
  const cred =
    o.username !== undefined ? `${encodeURIComponent(o.username)}:${encodeURIComponent(o.password ?? '')}@` : '';
  return {
    port,
    url: `mqtt://${cred}${local.includes(':') ? `[${local}]` : local}:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
