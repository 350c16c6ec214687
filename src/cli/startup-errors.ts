// What `ampere serve` says when it cannot start: one line naming the port or path and what to do,
// instead of a stack trace (exit code 2, like a configuration error).
import { AmpereError } from '../errors.ts';

interface SystemError extends Error {
  code?: string;
  syscall?: string;
  path?: string;
  port?: number;
  address?: string;
}

/** An AmpereError with a clear message for a known startup failure; undefined for anything else. */
export function startupError(e: unknown, data: string): AmpereError | undefined {
  const err = e as SystemError;
  if (!err || typeof err !== 'object' || typeof err.code !== 'string') return undefined;
  const where = err.path ?? data;
  switch (err.code) {
    case 'EADDRINUSE':
      return new AmpereError(
        'AMPERE_ERR_CONFIG',
        `port ${err.port} on ${err.address} is already in use: stop the program using it, or choose another with --port (0 = any free port)`,
      );
    case 'EADDRNOTAVAIL':
      return new AmpereError(
        'AMPERE_ERR_CONFIG',
        `cannot listen on ${err.address}: it is not an address of this machine; fix --host (0.0.0.0 = all)`,
      );
    case 'EEXIST':
    case 'ENOTDIR':
      return new AmpereError(
        'AMPERE_ERR_CONFIG',
        `${where} is a file, not a folder: point --data (AMPERE_DATA) at a folder Ampere may create`,
      );
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      if (err.syscall === 'listen' || err.syscall === 'bind') {
        return new AmpereError(
          'AMPERE_ERR_CONFIG',
          `no permission to listen on port ${err.port}: choose a port above 1023 with --port`,
        );
      }
      return new AmpereError(
        'AMPERE_ERR_CONFIG',
        `the data folder is not writable (${where}): choose a writable folder with --data (AMPERE_DATA) or fix its permissions`,
      );
    default:
      return undefined;
  }
}
