// The simulator's diagnostics upload (OCPP 1.6 §5.9): the file goes to GetDiagnostics' location,
// by FTP (what most real chargers do: passive mode, the credential in the URL) or by HTTP POST.
// An ftp:// location ending in `/` names a folder, the file keeps its own name; otherwise the
// location's path is the file to write.
import { Readable } from 'node:stream';
import { Client } from 'basic-ftp';

/** How long one FTP step (connect, login, transfer) may take. */
const FTP_TIMEOUT_MS = 15_000;

export async function uploadDiagnosticsFile(
  location: string,
  fileName: string,
  body: string,
  fetchImpl: typeof fetch,
): Promise<void> {
  const url = new URL(location);
  if (url.protocol === 'ftp:') return uploadByFtp(url, fileName, body);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`cannot upload to ${url.protocol}`);
  const res = await fetchImpl(location, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-disposition': `attachment; filename="${fileName}"` },
    body,
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

async function uploadByFtp(url: URL, fileName: string, body: string): Promise<void> {
  const client = new Client(FTP_TIMEOUT_MS);
  try {
    await client.access({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : 21,
      user: url.username ? decodeURIComponent(url.username) : 'anonymous',
      password: url.password ? decodeURIComponent(url.password) : 'anonymous@',
      secure: false,
    });
    const path = decodeURIComponent(url.pathname);
    const folder = path.endsWith('/');
    if (folder && path !== '/') await client.cd(path);
    // basic-ftp opens the data connection in passive mode (EPSV, else PASV).
    await client.uploadFrom(Readable.from([Buffer.from(body)]), folder ? fileName : path);
  } finally {
    client.close();
  }
}
