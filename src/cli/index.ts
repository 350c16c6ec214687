// The CLI room's surface for tests and for other command files: the one argument parser and the
// operator commands built on it.
export {
  type CommandSpec,
  commandHelp,
  type Flags,
  groupHelp,
  type Parsed,
  parseCommand,
  selectCommand,
} from './args.ts';
export { type Client, createClient } from './client.ts';
export {
  commandGroup,
  OPERATOR_COMMAND_LIST,
  OPERATOR_COMMANDS,
  type OperatorCommand,
  runCommands,
  table,
} from './operator.ts';
export { startupError } from './startup-errors.ts';
