// The one argument parser of every operator command: each command and sub-command answers
// --help; unknown flags, missing values and stray arguments are refused with a hint.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { commandGroup, OPERATOR_COMMAND_LIST, OPERATOR_COMMANDS, selectCommand, table } from '../../src/cli/index.ts';

const COMMON = {
  url: { type: 'string', help: '' },
  token: { type: 'string', help: '' },
  data: { type: 'string', help: '' },
  json: { type: 'boolean', help: '' },
} as const;

/** argv that reaches one command: `security raise` → ['X', 'raise'] (sub word after subAt args). */
function wordsOf(name: string, subAt = 0): string[] {
  const sub = name.split(' ')[1];
  if (sub === undefined) return [];
  return [...Array.from({ length: subAt }, () => 'X'), sub];
}

function pick(word: string, argv: string[]) {
  return selectCommand(commandGroup(OPERATOR_COMMAND_LIST, word), argv, COMMON);
}

describe('operator CLI arguments', () => {
  test('every command and sub-command answers --help with its own usage', () => {
    for (const c of OPERATOR_COMMAND_LIST) {
      const top = c.name.split(' ')[0]!;
      const r = pick(top, [...wordsOf(c.name, c.subAt), '--help']);
      assert.ok('help' in r, c.name);
      assert.match(r.help, new RegExp(`ampere ${top}`), c.name);
      assert.ok(r.help.includes(c.summary), `${c.name}: ${r.help}`);
    }
    for (const top of OPERATOR_COMMANDS) {
      const r = pick(top, ['-h']);
      assert.ok('help' in r, top);
    }
  });

  test('tx --active, tx --charger ID and tx --limit 3 are accepted (help lists them)', () => {
    const r = pick('tx', ['--active', '--charger', 'CP1', '--limit', '3']);
    assert.ok('command' in r);
    assert.equal(r.command.name, 'tx list');
    assert.deepEqual({ ...r.parsed.flags }, { active: true, charger: 'CP1', limit: '3' });
  });

  test('chargers --bogus is refused with a hint instead of silently accepted', () => {
    assert.throws(() => pick('chargers', ['--bogus']), /chargers: unknown flag --bogus; see `ampere chargers --help`/);
    assert.throws(() => pick('chargers', ['--conected']), /did you mean --connected\?/);
  });

  test('events --charger without a value is refused instead of following everything', () => {
    assert.throws(() => pick('events', ['--charger']), /--charger needs a value \(ID\)/);
    assert.throws(() => pick('events', ['--charger', '--json']), /--charger/);
    assert.throws(() => pick('events', ['--charger=']), /--charger needs a value/);
  });

  test('missing and stray positional arguments, unknown sub-commands', () => {
    assert.throws(() => pick('charger', []), /charger: missing ID/);
    assert.throws(() => pick('tx', ['start', 'CP1']), /tx start: missing TAG/);
    assert.throws(() => pick('approve', ['A', 'B']), /unexpected argument "B"/);
    assert.throws(() => pick('tx', ['bogus']), /tx: unknown sub-command "bogus" \(list, show, active, start, stop\)/);
    assert.throws(() => pick('chargers', ['--json=yes']), /--json takes no value/);
  });

  test('sub-commands after an argument: security ID raise N, config ID set KEY VALUE', () => {
    const raise = pick('security', ['CP1', 'raise', '2']);
    assert.ok('command' in raise);
    assert.equal(raise.command.name, 'security raise');
    assert.deepEqual(raise.parsed.args, ['CP1', '2']);
    const set = pick('config', ['CP1', 'set', 'HeartbeatInterval', '60', '--json']);
    assert.ok('command' in set);
    assert.equal(set.command.name, 'config set');
    assert.deepEqual(set.parsed.args, ['CP1', 'HeartbeatInterval', '60']);
    const get = pick('config', ['CP1', 'A', 'B']);
    assert.ok('command' in get);
    assert.deepEqual(get.parsed.args, ['CP1', 'A', 'B']);
  });

  test('a wide table is cut to the width: long values end in …, short columns stay whole', () => {
    const long = 'Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,'.repeat(3);
    const text = table(
      ['KEY', 'VALUE', 'READONLY'],
      [
        ['MeterValuesSampledData', long, false],
        ['HeartbeatInterval', '300', false],
      ],
      80,
    );
    const lines = text.split('\n');
    for (const line of lines) assert.ok(line.length <= 80, `${line.length}: ${line}`);
    assert.match(lines[1]!, /^MeterValuesSampledData {2}Energy\.Active\.Import\.Register,.*… {2}no$/);
    assert.match(lines[2]!, /^HeartbeatInterval +300 +no$/);
  });
});
