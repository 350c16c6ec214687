// The `ampere` command: parse the sub-command, then hand over to app/ or the simulator.
// Every command module is imported when its command runs (issue 14): `help`, `--version` and the
// API-client commands never load the server (fastify, the stores, the central system), so they
// start in a fraction of the time `serve` needs.
import { createRequire } from 'node:module';
import { isAmpereError } from '../errors.ts';

/** The usage text, assembled from the command modules that own each part. */
async function usage(): Promise<string> {
  const [
    { serveHelp },
    { BRIDGE_USAGE },
    { CERTIFICATES_USAGE },
    { OPERATOR_USAGE },
    { SMART_USAGE },
    { NODES_USAGE },
    { DIAGNOSTICS_USAGE },
    { FIRMWARE_USAGE },
  ] = await Promise.all([
    import('../config/index.ts'),
    import('./bridge.ts'),
    import('./certificates.ts'),
    import('./operator.ts'),
    import('./smart.ts'),
    import('./nodes.ts'),
    import('./diagnostics.ts'),
    import('./firmware.ts'),
  ]);
  return `Usage: ampere <command> [flags]

Commands:
  serve        run the central system (npm start)
  simulate     run simulated charge points against a central system
  certs        built-in CA: \`certs init\` (CA + server certificate), \`certs client ID\`
  help         show this text
  --version    print the version

${OPERATOR_USAGE}
${NODES_USAGE}
${CERTIFICATES_USAGE}
${DIAGNOSTICS_USAGE}
${FIRMWARE_USAGE}
${BRIDGE_USAGE}

${SMART_USAGE}

ampere serve flags (and environment variables):
${serveHelp()}
`;
}

/** package.json sits two levels up from src/cli/ and from the build in dist/cli/ alike. */
function version(): string {
  return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
}

async function serve(argv: string[]): Promise<void> {
  const { loadServeConfig, serveHelp } = await import('../config/index.ts');
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`Usage: ampere serve [flags]\n\nFlags (and environment variables):\n${serveHelp()}\n`);
    return;
  }
  const [{ startServer }, { startupError }, { guardStdio }] = await Promise.all([
    import('../app/server.ts'),
    import('./startup-errors.ts'),
    import('./stdio.ts'),
  ]);
  // A server whose output pipe loses its reader keeps serving and still stops on SIGTERM.
  guardStdio();
  const config = loadServeConfig(argv, process.env);
  const running = await startServer(config).catch((e: unknown) => {
    throw startupError(e, config.data) ?? e;
  });
  process.stdout.write(`${running.url}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.log.info({ signal, drainTimeout: config.drainTimeout }, 'shutting down: draining');
    // A drain that hangs (a database that stopped answering) must not keep the process forever.
    const limit = setTimeout(() => {
      running.log.error({ drainTimeout: config.drainTimeout }, 'drain timed out: exiting anyway');
      running.log.flush();
      process.exit(1);
    }, config.drainTimeout * 1000);
    running.drain().then(
      () => {
        clearTimeout(limit);
        process.exit(0);
      },
      (e) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // New certificate files take effect for new handshakes; connected chargers stay connected.
  process.on('SIGHUP', () => running.reloadTls());
}

async function main(argv: string[]): Promise<void> {
  const [command = 'help', ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'simulate': {
      const { runSimulateCli } = await import('../chargepoint/cli.ts');
      const code = await runSimulateCli(rest);
      process.exitCode = code ?? 0;
      return;
    }
    case 'certs': {
      const { runCertsCli } = await import('./certs.ts');
      process.exitCode = await runCertsCli(rest, (t) => process.stdout.write(t));
      return;
    }
    case 'certificates': {
      const { runCertificatesCommand } = await import('./certificates.ts');
      process.exitCode = await runCertificatesCommand(rest, process.env);
      return;
    }
    case 'diagnostics': {
      const { runDiagnosticsCommand } = await import('./diagnostics.ts');
      process.exitCode = await runDiagnosticsCommand(rest, process.env);
      return;
    }
    case 'nodes': {
      const { runNodesCommand } = await import('./nodes.ts');
      process.exitCode = await runNodesCommand(rest, process.env, process.stdout.columns);
      return;
    }
    case 'bridge': {
      const { runBridgeCli } = await import('./bridge.ts');
      process.exitCode = await runBridgeCli(rest, process.env, (t) => process.stdout.write(`${t}\n`));
      return;
    }
    case 'firmware': {
      const { runFirmwareCommand } = await import('./firmware.ts');
      process.exitCode = await runFirmwareCommand(rest, process.env, process.stdout.columns);
      return;
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(await usage());
      return;
    case 'version':
    case '--version':
    case '-v':
      process.stdout.write(`${version()}\n`);
      return;
    default: {
      // `ampere chargers | head`: a reader that goes away ends a client command quietly, not with
      // a stack trace (serve handles its own pipes).
      for (const stream of [process.stdout, process.stderr])
        stream.on('error', (e: NodeJS.ErrnoException) => {
          if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
          throw e;
        });
      const [{ runSmartCommand, smartRoute }, { OPERATOR_COMMANDS, runOperatorCommand }] = await Promise.all([
        import('./smart.ts'),
        import('./operator.ts'),
      ]);
      const smart = smartRoute(command, rest);
      if (smart === 'own') {
        process.exitCode = await runSmartCommand(command, rest, process.env);
        return;
      }
      if (OPERATOR_COMMANDS.includes(command)) {
        process.exitCode = await runOperatorCommand(command, rest, process.env, process.stdout.columns);
        // `tx show` and `tx active` go on with what smart charging says of the session(s).
        const help = rest.includes('--help') || rest.includes('-h');
        if (smart === 'after' && process.exitCode === 0 && !help)
          process.exitCode = await runSmartCommand(`tx-${rest[0]}`, rest.slice(1), process.env);
        return;
      }
      process.stderr.write(`Unknown command "${command}".\n\n${await usage()}`);
      process.exitCode = 2;
    }
  }
}

main(process.argv.slice(2)).catch((e) => {
  if (isAmpereError(e)) {
    process.stderr.write(`ampere: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`ampere: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
