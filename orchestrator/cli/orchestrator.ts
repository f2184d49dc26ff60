// `astara-orchestrator`: the service.
import { Command, Option } from 'commander';
import { pino } from 'pino';
import { loadOptions, OptionsError, OPTION_DOCS } from '../options.js';
import { OrchestratorService, StartupError } from '../service.js';

function optionsHelp(): string {
  const lines = ['', 'Options of the configuration file (docs/orchestrator.md describes each one):'];
  let section = '';
  for (const option of OPTION_DOCS) {
    if (option.section !== section) {
      section = option.section;
      lines.push(`  [${section}]`);
    }
    const value = option.default ?? (option.computedDefault ? `(${option.computedDefault})` : '(unset)');
    lines.push(`    ${option.name} = ${value}`);
  }
  return lines.join('\n');
}

export function buildProgram(): Command {
  return new Command('astara-orchestrator')
    .description('The Astara orchestrator: boots one appliance per router or load balancer, pushes its configuration and keeps it healthy.')
    .option('--config-file <file>', 'INI configuration file (default /etc/astara/orchestrator.ini)')
    .addOption(new Option('--log-level <level>', 'override [DEFAULT] log_level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace']))
    .addHelpText('after', optionsHelp())
    .action(async (flags: { configFile?: string; logLevel?: string }) => {
      await run(flags);
    });
}

async function run(flags: { configFile?: string; logLevel?: string }): Promise<void> {
  let options;
  const warnings: string[] = [];
  try {
    options = await loadOptions(flags.configFile, (warning) => warnings.push(warning));
  } catch (error) {
    if (error instanceof OptionsError) {
      // An unknown option is often the misspelling behind a problem: show both.
      for (const warning of error.warnings) console.error(`astara-orchestrator: warning: ${warning}`);
      for (const problem of error.problems) console.error(`astara-orchestrator: ${problem}`);
      process.exit(2);
    }
    throw error;
  }
  const level = flags.logLevel ?? options.logLevel;
  const logger = pino({ level, base: { service: 'astara-orchestrator', host: options.host } });
  for (const warning of warnings) logger.warn(warning);
  let service: OrchestratorService;
  try {
    service = await OrchestratorService.start(options, logger, flags.logLevel ? { logLevel: flags.logLevel as typeof options.logLevel } : {});
  } catch (error) {
    if (error instanceof StartupError) {
      console.error(`astara-orchestrator: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    void service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGHUP: the same as `astara-ctl config reload`.
  process.on('SIGHUP', () => {
    void service.reload().catch((error: unknown) => logger.error({ err: error }, 'reload failed'));
  });
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
