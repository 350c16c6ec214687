// Reading a charger's configuration. A GetConfiguration.req without keys asks for everything; a
// list of keys is sent in pages of GetConfigurationMaxKeys (OCPP 1.6 §9.1.12), since a charger
// answers a longer list with a CALLERROR or silently truncates it.
import type { GetConfigurationResponse } from '../ocpp/index.ts';
import type { CentralHost } from './ports.ts';

export type ConfigurationKey = NonNullable<GetConfigurationResponse['configurationKey']>[number];

export interface ConfigurationRead {
  configurationKey: ConfigurationKey[];
  unknownKey: string[];
  /** GetConfiguration calls made. */
  requests: number;
}

const MAX_KEYS = 'GetConfigurationMaxKeys';

/** The page size for key lists: the stored copy's GetConfigurationMaxKeys, else asks the charger. */
async function maxKeys(central: CentralHost, chargerId: string): Promise<{ size: number; requests: number }> {
  const stored = (await central.store.getConfiguration(chargerId)).find((e) => e.key === MAX_KEYS);
  let raw = stored?.value ?? null;
  let requests = 0;
  if (raw === null) {
    const res = await central.call(chargerId, 'GetConfiguration', { key: [MAX_KEYS] });
    requests++;
    raw = res.configurationKey?.find((k) => k.key === MAX_KEYS)?.value ?? null;
  }
  const n = Number(raw);
  return { size: Number.isInteger(n) && n > 0 ? n : Number.POSITIVE_INFINITY, requests };
}

export async function readConfiguration(
  central: CentralHost,
  chargerId: string,
  keys?: readonly string[],
): Promise<ConfigurationRead> {
  if (!keys || keys.length === 0) {
    const res = await central.call(chargerId, 'GetConfiguration', {});
    return { configurationKey: res.configurationKey ?? [], unknownKey: res.unknownKey ?? [], requests: 1 };
  }
  const { size, requests: asked } = await maxKeys(central, chargerId);
  const out: ConfigurationRead = { configurationKey: [], unknownKey: [], requests: asked };
  const unique = [...new Set(keys)];
  const pageSize = Number.isFinite(size) ? size : unique.length;
  for (let i = 0; i < unique.length; i += pageSize) {
    const res = await central.call(chargerId, 'GetConfiguration', { key: unique.slice(i, i + pageSize) });
    out.requests++;
    out.configurationKey.push(...(res.configurationKey ?? []));
    out.unknownKey.push(...(res.unknownKey ?? []));
  }
  return out;
}
