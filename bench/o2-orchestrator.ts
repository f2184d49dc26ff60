// O2's orchestrator process: the real service (options file, local network
// provider and resource file watcher, dispatcher, health monitor, admin API),
// with one difference from bin/astara-orchestrator: appliances are booted by
// the bench's SimulatedCompute, so thousands of them cost a registration each
// instead of a namespace and a Node process each. It also logs what pauses
// it (bench/lib/pauses.ts): each garbage collection ('gc pause') and each
// time its event loop was held 50 ms or more ('stall').
//
//   nsenter --net=/run/netns/NS node --import tsx bench/o2-orchestrator.ts --config-file FILE --simulator-url URL
import { pino } from 'pino';
import { loadOptions } from '../orchestrator/options.js';
import { OrchestratorService } from '../orchestrator/service.js';
import { startProviders } from '../orchestrator/wiring.js';
import { watchCollections, watchStalls } from './lib/pauses.js';
import { SimulatedCompute } from './lib/simulated-compute.js';

function flag(name: string): string {
  const value = process.argv[process.argv.indexOf(name) + 1];
  if (!process.argv.includes(name) || value === undefined) throw new Error(`${name} is required`);
  return value;
}

const options = await loadOptions(flag('--config-file'), (warning) => console.error(warning));
const logger = pino({ level: options.logLevel, base: { service: 'astara-orchestrator', host: options.host } });
watchCollections((collection) => logger.info(collection, 'gc pause'));
watchStalls((stall) => logger.info(stall, 'stall'));
const compute = new SimulatedCompute(flag('--simulator-url'));
const service = await OrchestratorService.start(options, logger, {}, async (o, l) => ({ ...(await startProviders(o, l)), compute }));

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  });
}
