// Baseline 2: what a JavaScript user would pick: `ocpp-rpc` (npm) in strict mode (every request and
// response validated against the OCPP 1.6 schemas), answering from memory: no storage.
import type { AddressInfo } from 'node:net';
import { RPCServer } from 'ocpp-rpc';

const now = () => `${new Date().toISOString().slice(0, 19)}Z`;
let nextTx = 1;
const transactions = new Map<number, { chargerId: string; meterStart: number; lastWh: number; samples: number }>();

const server = new RPCServer({ protocols: ['ocpp1.6'], strictMode: true });
server.auth((accept) => accept({}));
server.on('client', (client: any) => {
  const status = new Map<number, string>();
  client.handle('BootNotification', async () => ({ status: 'Accepted', currentTime: now(), interval: 300 }));
  client.handle('Heartbeat', async () => ({ currentTime: now() }));
  client.handle('StatusNotification', async ({ params }: any) => {
    status.set(params.connectorId, params.status);
    return {};
  });
  client.handle('StartTransaction', async ({ params }: any) => {
    const id = nextTx++;
    transactions.set(id, { chargerId: client.identity, meterStart: params.meterStart, lastWh: 0, samples: 0 });
    return { transactionId: id, idTagInfo: { status: 'Accepted' } };
  });
  client.handle('MeterValues', async ({ params }: any) => {
    const tx = transactions.get(params.transactionId);
    if (tx) {
      for (const mv of params.meterValue) {
        for (const sv of mv.sampledValue) {
          tx.samples++;
          if (sv.measurand === 'Energy.Active.Import.Register') tx.lastWh = Number(sv.value);
        }
      }
    }
    return {};
  });
});

const http = await server.listen(0, '127.0.0.1');
process.stdout.write(`http://127.0.0.1:${(http.address() as AddressInfo).port}\n`);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
