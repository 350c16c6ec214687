// Several nodes on one PostgreSQL (issue 13): the directory, command sender and event source over
// every node, built on the store room's ClusterBackplane and on ports.ts.
export { ClusterDirectory, type ClusterDirectoryOptions } from './directory.ts';
export { ClusterEvents, type ClusterEventsOptions, type EventLog } from './events.ts';
export { ClusterNode, type ClusterNodeOptions, type ClusterNodeSettings } from './node.ts';
export { RoutedCommandSender, type RoutedCommandSenderOptions } from './routed-sender.ts';
