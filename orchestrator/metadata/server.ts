// The orchestrator's end of the guests' metadata path (the original's
// metadata.py): the appliances' proxies forward guests' GETs here with the
// identity headers they set themselves, and the backend answers. The caller
// listens on [management address]:astara_metadata_port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { MetadataBackend, MetadataRequest } from '../providers/types.js';

export interface MetadataServerOptions {
  readonly backend: MetadataBackend;
  readonly logger: Logger;
}

const TEXT = 'text/plain; charset=utf-8';

/** The peer's address, an IPv4-mapped IPv6 address as plain IPv4 (management addresses are compared as written). */
export function peerAddress(remoteAddress: string | undefined): string {
  const address = remoteAddress ?? '';
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice('::ffff:'.length) : address;
}

/** A header the proxy sets once; undefined when absent or empty. */
function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  return text === '' ? undefined : text;
}

function send(res: ServerResponse, status: number, contentType: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), ...extra }).end(body);
}

export function createMetadataServer(options: MetadataServerOptions): Server {
  const { backend, logger } = options;
  return createServer((req, res) => {
    if (req.method !== 'GET') {
      send(res, 405, TEXT, 'Method Not Allowed', { Allow: 'GET' });
      return;
    }
    const instanceId = header(req, 'x-instance-id');
    const sourceAddress = peerAddress(req.socket.remoteAddress);
    // As the original: without the instance the appliance found, there is nobody to answer for.
    if (instanceId === undefined) {
      logger.info({ sourceAddress, path: req.url }, 'metadata request without X-Instance-ID');
      send(res, 404, TEXT, 'Not Found');
      return;
    }
    const request: MetadataRequest = {
      path: req.url ?? '/',
      instanceId,
      forwardedFor: header(req, 'x-forwarded-for') ?? '',
      tenantId: header(req, 'x-tenant-id'),
      networkId: header(req, 'x-quantum-network-id'),
      sourceAddress,
    };
    backend.answer(request).then(
      (answer) => {
        logger.debug({ sourceAddress, instanceId, path: request.path, status: answer.status }, 'metadata request');
        send(res, answer.status, answer.contentType, answer.body);
      },
      (error: unknown) => {
        logger.error({ err: error, sourceAddress, instanceId, path: request.path }, 'metadata backend failed');
        send(res, 500, TEXT, 'Internal Server Error');
      },
    );
  });
}
