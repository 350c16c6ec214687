// Home Assistant MQTT discovery: one retained config message per entity under
// DISCOVERY/COMPONENT/NODE/OBJECT/config, so a charger appears with no YAML. The entities point at
// the bridge's own state and command topics; availability needs both the bridge and the charger.
import { ERROR_ENUM, STATUS_ENUM } from './model.ts';
import { commandTopic, stateTopic } from './topics.ts';

export interface DeviceInfo {
  chargerId: string;
  name?: string;
  vendor?: string;
  model?: string;
  firmware?: string;
  /** Connectors (1, 2, …) the charger reported. */
  connectors: number[];
  /** Highest current the max-current number may be set to (A). */
  maxCurrentA?: number;
}

export interface DiscoveryMessage {
  topic: string;
  payload: Record<string, unknown>;
}

/** Home Assistant object and node ids: [a-zA-Z0-9_-] only. */
export function haId(text: string): string {
  return text.replace(/[^a-zA-Z0-9_-]/g, '_');
}

export function discoveryMessages(discoveryPrefix: string, prefix: string, d: DeviceInfo): DiscoveryMessage[] {
  const node = `ampere_${haId(d.chargerId)}`;
  const device = {
    identifiers: [node],
    name: d.name ?? `Charger ${d.chargerId}`,
    ...(d.vendor ? { manufacturer: d.vendor } : {}),
    ...(d.model ? { model: d.model } : {}),
    ...(d.firmware ? { sw_version: d.firmware } : {}),
  };
  const availability = {
    availability: [
      { topic: `${prefix}/bridge/online`, payload_available: 'online', payload_not_available: 'offline' },
      { topic: stateTopic(prefix, d.chargerId, null, 'online'), payload_available: '1', payload_not_available: '0' },
    ],
    availability_mode: 'all',
  };
  const out: DiscoveryMessage[] = [];
  const add = (component: string, object: string, config: Record<string, unknown>) => {
    out.push({
      topic: `${discoveryPrefix}/${component}/${node}/${object}/config`,
      payload: {
        unique_id: `${node}_${object}`,
        ...config,
        ...availability,
        device,
        origin: { name: 'Ampere' },
      },
    });
  };
  add('button', 'reset', {
    name: 'Reset',
    command_topic: commandTopic(prefix, d.chargerId, 0, 'reset'),
    payload_press: 'soft',
    device_class: 'restart',
  });
  const many = d.connectors.length > 1;
  for (const n of d.connectors) {
    const label = (s: string) => (many ? `Connector ${n} ${s.toLowerCase()}` : s);
    const st = (o: string) => stateTopic(prefix, d.chargerId, n, o);
    const cmd = (c: string) => commandTopic(prefix, d.chargerId, n, c);
    const id = (o: string) => `c${n}_${o}`;
    add('sensor', id('status'), {
      name: label('Status'),
      state_topic: st('status'),
      device_class: 'enum',
      options: [...STATUS_ENUM],
    });
    add('sensor', id('error'), {
      name: label('Error'),
      state_topic: st('error'),
      device_class: 'enum',
      options: [...ERROR_ENUM],
    });
    add('sensor', id('power'), {
      name: label('Power'),
      state_topic: st('power'),
      device_class: 'power',
      unit_of_measurement: 'W',
      state_class: 'measurement',
    });
    add('sensor', id('current'), {
      name: label('Current'),
      state_topic: st('current'),
      device_class: 'current',
      unit_of_measurement: 'A',
      state_class: 'measurement',
    });
    add('sensor', id('energy_last'), {
      name: label('Energy of last session'),
      state_topic: st('energy_last_wh'),
      device_class: 'energy',
      unit_of_measurement: 'Wh',
      state_class: 'total',
    });
    add('sensor', id('session_energy'), {
      name: label('Session energy'),
      state_topic: st('session_energy_wh'),
      device_class: 'energy',
      unit_of_measurement: 'Wh',
      state_class: 'total_increasing',
    });
    add('switch', id('charging'), {
      name: label('Charging'),
      state_topic: st('charging'),
      command_topic: cmd('charging'),
      payload_on: '1',
      payload_off: '0',
      state_on: '1',
      state_off: '0',
    });
    add('switch', id('availability'), {
      name: label('Available'),
      state_topic: st('availability'),
      command_topic: cmd('availability'),
      payload_on: '1',
      payload_off: '0',
      state_on: '1',
      state_off: '0',
    });
    add('switch', id('fast_charge'), {
      name: label('Fast charge'),
      state_topic: st('fast_charge'),
      command_topic: cmd('fast_charge'),
      payload_on: '1',
      payload_off: '0',
      state_on: '1',
      state_off: '0',
    });
    add('number', id('max_current'), {
      name: label('Max current'),
      state_topic: st('max_current'),
      command_topic: cmd('max_current'),
      device_class: 'current',
      unit_of_measurement: 'A',
      // IEC 61851-1: 6 A is the lowest current a pilot signal can offer.
      min: 6,
      max: d.maxCurrentA ?? 32,
      step: 1,
      mode: 'box',
    });
    add('button', id('unlock'), {
      name: label('Unlock'),
      command_topic: cmd('unlock'),
      payload_press: '1',
    });
  }
  return out;
}
