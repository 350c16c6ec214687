// The simulator's file transfers (firmware download, diagnostics upload) against a central
// system whose TLS certificate comes from a private CA: the global fetch trusts only the system
// store, so a station given `ca` fetches through node:https with that CA, as a real charger
// trusts the CA installed on it. Only what the station uses: method, headers, a body, the answer.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

function headerList(h: IncomingHttpHeaders): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out.push([k, Array.isArray(v) ? v.join(', ') : v]);
  return out;
}

export function fetchTrusting(ca: string | Buffer): typeof fetch {
  return ((input: string | URL, init: RequestInit = {}) => {
    const url = new URL(String(input));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<Response>((resolve, reject) => {
      const req = send(
        url,
        {
          method: init.method ?? 'GET',
          headers: (init.headers ?? {}) as Record<string, string>,
          ...(url.protocol === 'https:' ? { ca } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 500;
            const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
            resolve(new Response(body, { status, headers: headerList(res.headers) }));
          });
        },
      );
      req.on('error', reject);
      req.end(init.body === undefined || init.body === null ? undefined : (init.body as string | Uint8Array));
    });
  }) as typeof fetch;
}
