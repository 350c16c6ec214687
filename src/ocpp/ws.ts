// Binds a `ws` WebSocket to an RpcSession. Closing the socket closes the session.
import type WebSocket from 'ws';
import { AmpereError } from '../errors.ts';
import type { RpcSession } from './session.ts';

/** The subprotocol of OCPP 1.6 over JSON (OCPP-J 1.6 §3.1.2). */
export const OCPP16_SUBPROTOCOL = 'ocpp1.6';

export function attachWebSocket(ws: WebSocket, session: RpcSession): void {
  ws.on('message', (data: WebSocket.RawData) => {
    // OCPP-J uses text frames; a binary frame is decoded the same way and judged by its content.
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : data.toString('utf8');
    session.receive(text);
  });
  ws.on('close', () => session.close(new AmpereError('AMPERE_ERR_SESSION_CLOSED', 'The connection closed')));
}
