// `astara-metadata-proxy`: the metadata proxy on its own, fed a desired state
// (the JSON form of MetadataProxyState) from a file; SIGHUP re-reads it.
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino, type Logger } from 'pino';
import { MetadataProxy, type MetadataProxyOptions, type MetadataProxyUpdate } from './proxy.js';
import { parseMetadataProxyState, type MetadataProxyState } from './state.js';

export async function readStateFile(file: string): Promise<MetadataProxyState> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return parseMetadataProxyState(value);
  } catch (error) {
    throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A proxy driven by a state file: `reload()` re-reads it and keeps the running state when it is invalid. */
export class StandaloneProxy {
  readonly proxy: MetadataProxy;

  constructor(
    readonly file: string,
    private readonly logger: Logger,
    options: Omit<MetadataProxyOptions, 'logger'> = {},
  ) {
    this.proxy = new MetadataProxy({ ...options, logger });
  }

  /** Reads the file and applies it; throws when it is unreadable or invalid. */
  async start(): Promise<MetadataProxyUpdate> {
    return this.proxy.update(await readStateFile(this.file));
  }

  async reload(): Promise<MetadataProxyUpdate | undefined> {
    let state: MetadataProxyState;
    try {
      state = await readStateFile(this.file);
    } catch (error) {
      this.logger.error({ err: error }, 'not reloading: the state file is invalid; keeping the running configuration');
      return undefined;
    }
    return this.proxy.update(state);
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

interface CliOptions {
  readonly config: string;
  readonly logLevel: string;
  readonly maxHeaderSize: number;
  readonly upstreamTimeout: number;
  readonly maxPerSource: number;
}

export function buildProgram(): Command {
  return new Command('astara-metadata-proxy')
    .description(
      'Forward guests\' metadata requests to the orchestrator: one HTTP listener per tenant network, as described by a JSON ' +
        'state file ({"upstream": "http://[addr]:port", "listeners": [{"networkId", "ifname", "address", "port", "tenantId", ' +
        '"instances": {"guest ip": "device id"}, "sources": ["guest prefix"]}]}). SIGHUP re-reads the file.',
    )
    .requiredOption('--config <file>', 'desired state as JSON')
    .addOption(new Option('--max-header-size <bytes>', 'largest request header block from a guest').default(8192).argParser(positiveInt))
    .addOption(new Option('--upstream-timeout <ms>', 'timeout of one upstream request').default(10_000).argParser(positiveInt))
    .addOption(new Option('--max-per-source <n>', 'concurrent requests per guest address').default(16).argParser(positiveInt))
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'))
    .action(async (options: CliOptions) => {
      await run(options);
    });
}

async function run(options: CliOptions): Promise<void> {
  const logger = pino({ level: options.logLevel, base: { service: 'astara-metadata-proxy' } });
  const standalone = new StandaloneProxy(options.config, logger, {
    maxHeaderSize: options.maxHeaderSize,
    upstreamTimeoutMs: options.upstreamTimeout,
    maxPerSource: options.maxPerSource,
  });
  const first = await standalone.start();
  if (first.failed.length > 0 && first.failed.length === standalone.proxy.desired?.listeners.length) {
    throw new Error(`no listener could bind: ${first.failed.map((f) => `${f.listener}: ${f.error}`).join('; ')}`);
  }
  process.on('SIGHUP', () => {
    logger.info({ file: options.config }, 'SIGHUP: re-reading the state file');
    void standalone.reload();
  });
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping');
    void standalone.proxy.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
