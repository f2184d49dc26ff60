// The services this appliance can run. An image is built with a set of them
// (DIB_ASTARA_ADVANCED_SERVICES; the astara-appliance element writes it to
// SERVICES_FILE, one per line), and a load balancer needs the nginx that
// only the `loadbalancer` service installs: a document asking for a service
// the image lacks is refused (422), naming it, before anything is touched.
// Where no file exists (a namespace, a development host) every service is
// enabled; `serve --services LIST` overrides both.
import { readFile } from 'node:fs/promises';
import type { ConfigModel, Problem } from '../../contract/index.js';

export const SERVICES = ['router', 'loadbalancer'] as const;
export type ApplianceService = (typeof SERVICES)[number];

export const SERVICES_FILE = '/etc/astara/services';

export interface EnabledServices {
  readonly services: ReadonlySet<ApplianceService>;
  /** Where the set comes from, for messages: `--services`, the file, or `default`. */
  readonly source: string;
}

export const ALL_SERVICES: EnabledServices = { services: new Set(SERVICES), source: 'default: no services file' };

export function isService(name: string): name is ApplianceService {
  return (SERVICES as readonly string[]).includes(name);
}

/** The services named in `text` (separated by commas, spaces or lines), and the names that are none. */
export function parseServices(text: string): { readonly services: Set<ApplianceService>; readonly unknown: string[] } {
  const services = new Set<ApplianceService>();
  const unknown: string[] = [];
  for (const name of text.split(/[\s,]+/).filter(Boolean)) {
    if (isService(name)) services.add(name);
    else unknown.push(name);
  }
  return { services, unknown };
}

/** The image's services: those of `file`, or every one when it does not exist. Names it does not know are returned to be reported. */
export async function imageServices(file = SERVICES_FILE): Promise<EnabledServices & { readonly unknown: readonly string[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ...ALL_SERVICES, unknown: [] };
    throw error;
  }
  const { services, unknown } = parseServices(text);
  return { services, source: file, unknown };
}

/** What `model` asks of a service the appliance does not have. */
export function servicesProblems(model: ConfigModel, enabled: EnabledServices): Problem[] {
  if (!model.loadBalancer || enabled.services.has('loadbalancer')) return [];
  const list = [...enabled.services].join(', ') || 'none';
  return [
    {
      path: '/services/loadbalancer',
      message: `this appliance does not run the loadbalancer service (its services: ${list}, from ${enabled.source}): build its image with DIB_ASTARA_ADVANCED_SERVICES including loadbalancer`,
    },
  ];
}
