// oslo.messaging's `transport_url` (`rabbit://user:password@host:port/vhost`,
// several hosts separated by commas) as the AMQP 0-9-1 URLs a client dials.

export interface TransportHost {
  readonly username: string;
  readonly password: string;
  readonly host: string;
  readonly port: number;
}

const HOST_RULE = /^(?:([^:@/]*)(?::([^@/]*))?@)?(\[[0-9a-fA-F:.]+\]|[^:@/[\]]+)(?::(\d{1,5}))?$/;

/**
 * The AMQP URLs of a transport URL, one per host, in the order given (a
 * client tries them in turn). Throws a message naming what is wrong. A host
 * without credentials takes the previous host's (as oslo.messaging does), the
 * default port is 5672 and the default virtual host `/`.
 */
export function amqpUrlsOf(transportUrl: string): string[] {
  const match = /^(rabbit|amqp):\/\/([^/]+)(?:\/(.*))?$/.exec(transportUrl.trim());
  if (!match) throw new Error(`must be rabbit://user:password@host:port/vhost, not "${transportUrl}"`);
  const vhost = match[3] ?? '';
  const hosts: TransportHost[] = [];
  for (const part of match[2]!.split(',')) {
    const host = HOST_RULE.exec(part.trim());
    if (!host) throw new Error(`"${part}" is not user:password@host:port`);
    const previous = hosts[hosts.length - 1];
    const port = host[4] === undefined ? 5672 : Number(host[4]);
    if (port < 1 || port > 65535) throw new Error(`port ${port} of "${part}" is not between 1 and 65535`);
    hosts.push({
      username: host[1] ?? previous?.username ?? 'guest',
      password: host[2] ?? previous?.password ?? 'guest',
      host: host[3]!,
      port,
    });
  }
  // An empty vhost is RabbitMQ's default one, "/", which a URL path spells %2F.
  const path = vhost === '' ? '%2F' : vhost;
  return hosts.map((h) => `amqp://${h.username}:${h.password}@${h.host}:${h.port}/${path}`);
}

/** An AMQP URL without its password, for logs. */
export const redactedUrl = (url: string): string => url.replace(/^(amqp:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
