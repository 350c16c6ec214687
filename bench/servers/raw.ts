// Baseline 1, "the limit": a bare `ws` server that parses each CALL and answers a minimal CALLRESULT.
// No validation, no storage. Prints its URL as the first stdout line, like `ampere serve`.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const now = () => `${new Date().toISOString().slice(0, 19)}Z`;
let nextTx = 1;

const http = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({
  server: http,
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has('ocpp1.6') ? 'ocpp1.6' : false),
});

wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString());
    } catch {
      ws.send('[4,"-1","FormationViolation","",{}]');
      return;
    }
    if (!Array.isArray(msg) || msg[0] !== 2) return;
    const id = JSON.stringify(msg[1]);
    switch (msg[2]) {
      case 'BootNotification':
        ws.send(`[3,${id},{"status":"Accepted","currentTime":"${now()}","interval":300}]`);
        break;
      case 'StartTransaction':
        ws.send(`[3,${id},{"transactionId":${nextTx++},"idTagInfo":{"status":"Accepted"}}]`);
        break;
      default:
        ws.send(`[3,${id},{}]`);
    }
  });
});

http.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${(http.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
