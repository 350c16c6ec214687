// The MQTT topic tree (documented in docs/home-automation.md):
//   PREFIX/bridge/online                      online | offline (birth and last will, retained)
//   PREFIX/bridge/error                       a command topic the bridge could not read
//   PREFIX/CHARGER/OBJECT                     charger objects (online, vendor, model, firmware)
//   PREFIX/CHARGER/N/OBJECT                   connector N's objects (status, current, …)
//   PREFIX/CHARGER[/N]/set/COMMAND            commands (no N: the whole charger, connector 0)
//   PREFIX/CHARGER[/N]/result/COMMAND         the answer to each command
import type { CommandName } from './commands.ts';
import { isCommand } from './commands.ts';

/** A charger id in one topic level: `/`, `+`, `#` and `%` are percent-encoded (MQTT 3.1.1 §4.7). */
export function topicId(chargerId: string): string {
  return chargerId.replace(/[%/+#]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

function fromTopicId(level: string): string {
  try {
    return decodeURIComponent(level);
  } catch {
    return level;
  }
}

export function stateTopic(prefix: string, chargerId: string, connectorId: number | null, object: string): string {
  return connectorId === null
    ? `${prefix}/${topicId(chargerId)}/${object}`
    : `${prefix}/${topicId(chargerId)}/${connectorId}/${object}`;
}

export function commandTopic(prefix: string, chargerId: string, connectorId: number, command: string): string {
  return connectorId === 0
    ? `${prefix}/${topicId(chargerId)}/set/${command}`
    : `${prefix}/${topicId(chargerId)}/${connectorId}/set/${command}`;
}

export function resultTopic(prefix: string, chargerId: string, connectorId: number, command: string): string {
  return connectorId === 0
    ? `${prefix}/${topicId(chargerId)}/result/${command}`
    : `${prefix}/${topicId(chargerId)}/${connectorId}/result/${command}`;
}

export type ParsedCommandTopic =
  | { ok: true; chargerId: string; connectorId: number; command: CommandName }
  | { ok: false; error: string; chargerId?: string; connectorId?: number; command?: string };

/** Reads PREFIX/CHARGER[/N]/set/COMMAND; anything else is an error in words. */
export function parseCommandTopic(prefix: string, topic: string): ParsedCommandTopic {
  if (!topic.startsWith(`${prefix}/`)) return { ok: false, error: `topic ${topic} is outside ${prefix}/` };
  const levels = topic.slice(prefix.length + 1).split('/');
  let chargerId: string;
  let connectorId = 0;
  let command: string;
  if (levels.length === 3 && levels[1] === 'set') {
    chargerId = fromTopicId(levels[0]!);
    command = levels[2]!;
  } else if (levels.length === 4 && levels[2] === 'set') {
    chargerId = fromTopicId(levels[0]!);
    command = levels[3]!;
    if (!/^\d{1,3}$/.test(levels[1]!)) {
      return { ok: false, error: `connector "${levels[1]}" is not a number`, chargerId, command };
    }
    connectorId = Number(levels[1]);
  } else {
    return { ok: false, error: `topic ${topic} is not PREFIX/CHARGER[/CONNECTOR]/set/COMMAND` };
  }
  if (!chargerId) return { ok: false, error: 'empty charger id in the topic' };
  if (!isCommand(command)) {
    return { ok: false, error: `unknown command "${command}"`, chargerId, connectorId, command };
  }
  return { ok: true, chargerId, connectorId, command };
}
