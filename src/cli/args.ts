// One argument parser for every `ampere` command (Node's util.parseArgs, strict): each command
// declares its flags and positional arguments; unknown flags, missing values and stray
// arguments are refused with a hint, and every command and sub-command answers --help.
import { parseArgs } from 'node:util';
import { hint } from '../config/index.ts';
import { AmpereError } from '../errors.ts';

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** Placeholder shown in help, e.g. `ID` (string flags). */
  value?: string;
  help: string;
}

export type Flags = Record<string, FlagSpec>;

export interface CommandSpec {
  /** `tx` or `tx list`: the command and its sub-command. */
  name: string;
  /** Positional arguments after the command: `ID`, `KEY?` (optional), `KEY...` (any number). */
  args?: readonly string[];
  /** How many positional arguments stand before the sub-command word (`security ID raise N`: 1). */
  subAt?: number;
  /** Run when the group is called without a sub-command word (`tx` = `tx list`). */
  isDefault?: boolean;
  summary: string;
  flags?: Flags;
}

export interface Parsed {
  flags: Record<string, string | boolean | undefined>;
  args: string[];
}

export type Selected<C extends CommandSpec> = { command: C; parsed: Parsed } | { help: string };

const HELP: Flags = { help: { type: 'boolean', help: 'show this help' } };

function usageOf(spec: CommandSpec): string {
  const [top, sub] = spec.name.split(' ') as [string, string | undefined];
  const args = spec.args ?? [];
  const at = spec.subAt ?? 0;
  const words = sub === undefined ? [top, ...args] : [top, ...args.slice(0, at), sub, ...args.slice(at)];
  const shown = words.map((w) => (w.endsWith('?') ? `[${w.slice(0, -1)}]` : w.endsWith('...') ? `[${w}]` : w));
  const flags = Object.entries(spec.flags ?? {}).map(([name, f]) =>
    f.type === 'boolean' ? `[--${name}]` : `[--${name} ${f.value ?? 'VALUE'}]`,
  );
  return `ampere ${[...shown, ...flags].join(' ')}`;
}

function flagLines(flags: Flags): string[] {
  return Object.entries(flags).map(([name, f]) => {
    const left = f.type === 'boolean' ? `--${name}` : `--${name} ${f.value ?? 'VALUE'}`;
    return `  ${left.padEnd(24)} ${f.help}`;
  });
}

/** The --help text of one command, with the flags every command of its group shares. */
export function commandHelp(spec: CommandSpec, common: Flags = {}): string {
  const lines = [`Usage: ${usageOf(spec)}`, '', spec.summary];
  const own = flagLines(spec.flags ?? {});
  if (own.length > 0) lines.push('', 'Flags:', ...own);
  lines.push('', 'Common flags:', ...flagLines({ ...common, ...HELP }));
  return `${lines.join('\n')}\n`;
}

/** The --help text of a group (`tx --help`): each sub-command's usage and summary. */
export function groupHelp(specs: readonly CommandSpec[], common: Flags = {}): string {
  const lines = ['Usage:'];
  for (const s of specs) lines.push(`  ${usageOf(s)}`, `      ${s.summary}`);
  lines.push('', 'Common flags:', ...flagLines({ ...common, ...HELP }));
  const top = specs[0]!.name.split(' ')[0]!;
  lines.push('', `\`ampere ${top} … SUB-COMMAND --help\` shows one sub-command.`);
  return `${lines.join('\n')}\n`;
}

/** Short usage lines for the top-level help: one per command. */
export function usageLines(specs: readonly CommandSpec[]): string[] {
  return specs.map((s) => `  ${usageOf(s).replace(/^ampere /, '')}`);
}

function refuse(spec: CommandSpec, message: string): never {
  throw new AmpereError('AMPERE_ERR_CONFIG', `${spec.name}: ${message}; see \`ampere ${spec.name} --help\``);
}

/** Parses a command's argv against its spec (strict: unknown flags and missing values refused). */
export function parseCommand(spec: CommandSpec, argv: readonly string[], common: Flags = {}): Parsed | 'help' {
  const all: Flags = { ...common, ...(spec.flags ?? {}), ...HELP };
  const options = Object.fromEntries(Object.entries(all).map(([k, f]) => [k, { type: f.type }]));
  options.help = { type: 'boolean', short: 'h' } as never;
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true }) as {
      values: Record<string, string | boolean | undefined>;
      positionals: string[];
    });
  } catch (e) {
    const err = e as Error & { code?: string };
    if (argv.includes('--help') || argv.includes('-h')) return 'help';
    const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1] ?? '';
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const name = flag.replace(/^-+/, '').split('=')[0]!;
      refuse(spec, `unknown flag ${flag}${hint(name, Object.keys(all)).replace('mean ', 'mean --')}`);
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const f = all[flag.replace(/^-+/, '')];
      if (f?.type === 'boolean') refuse(spec, `${flag} takes no value`);
      refuse(spec, `${flag} needs a value${f?.value ? ` (${f.value})` : ''}`);
    }
    refuse(spec, err.message);
  }
  if (values.help) return 'help';
  for (const [name, f] of Object.entries(all)) {
    if (f.type === 'string' && values[name] === '')
      refuse(spec, `--${name} needs a value${f.value ? ` (${f.value})` : ''}`);
  }
  const declared = spec.args ?? [];
  const variadic = declared.some((a) => a.endsWith('...'));
  const required = declared.filter((a) => !a.endsWith('?') && !a.endsWith('...'));
  if (positionals.length < required.length) refuse(spec, `missing ${required[positionals.length]}`);
  if (!variadic && positionals.length > declared.length) {
    refuse(spec, `unexpected argument "${positionals[declared.length]}"`);
  }
  return { flags: values, args: positionals };
}

/**
 * Picks the sub-command of a group from argv (`tx show 7` → `tx show`, `security CP1 raise 2` →
 * `security raise`), falling back to the group's default, and parses the rest.
 */
export function selectCommand<C extends CommandSpec>(
  group: readonly C[],
  argv: readonly string[],
  common: Flags = {},
): Selected<C> {
  const top = group[0]!.name.split(' ')[0]!;
  // A loose first pass only to find where the positional words are.
  const loose: Flags = { ...common, ...HELP };
  for (const c of group) Object.assign(loose, c.flags ?? {});
  const { tokens } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.entries(loose).map(([k, f]) => [k, { type: f.type }])),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const words = (tokens ?? []).filter((t) => t.kind === 'positional') as { index: number; value: string }[];
  for (const c of group) {
    const sub = c.name.split(' ')[1];
    if (sub === undefined) continue;
    const word = words[c.subAt ?? 0];
    if (word?.value !== sub) continue;
    const rest = argv.filter((_, i) => i !== word.index);
    const parsed = parseCommand(c, rest, common);
    return parsed === 'help' ? { help: commandHelp(c, common) } : { command: c, parsed };
  }
  const fallback = group.find((c) => c.isDefault) ?? (group.length === 1 ? group[0] : undefined);
  const asksHelp = argv.includes('--help') || argv.includes('-h');
  if (asksHelp && (group.length > 1 || !fallback)) return { help: groupHelp(group, common) };
  if (!fallback) {
    const subs = group.map((c) => c.name.split(' ')[1]).filter(Boolean);
    const at = group[0]!.subAt ?? 0;
    const got = words[at]?.value;
    throw new AmpereError(
      'AMPERE_ERR_CONFIG',
      `${top}: ${got === undefined ? 'missing sub-command' : `unknown sub-command "${got}"`} (${subs.join(', ')}); see \`ampere ${top} --help\``,
    );
  }
  const subs = group.map((c) => c.name.split(' ')[1]).filter(Boolean);
  const stray = words[fallback.subAt ?? 0];
  if (subs.length > 0 && (fallback.args ?? []).length === (fallback.subAt ?? 0) && stray) {
    throw new AmpereError(
      'AMPERE_ERR_CONFIG',
      `${top}: unknown sub-command "${stray.value}" (${subs.join(', ')}); see \`ampere ${top} --help\``,
    );
  }
  const parsed = parseCommand(fallback, argv, common);
  return parsed === 'help' ? { help: commandHelp(fallback, common) } : { command: fallback, parsed };
}
