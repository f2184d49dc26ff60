// A stand-in for the orchestrator's metadata service, for namespace tests:
// answers with what it received (path and the identity headers), or with the
// status a path asks for (`.../404`, `.../500`).
import { createServer } from 'node:http';

const [address, port] = process.argv.slice(2);
createServer((req, res) => {
  const wanted = /\/(404|500)$/.exec(req.url ?? '');
  if (wanted) {
    res.statusCode = Number(wanted[1]);
    res.end('upstream says no\n');
    return;
  }
  res.setHeader('content-type', 'application/json');
  res.end(
    JSON.stringify({
      path: req.url,
      forwarded_for: req.headers['x-forwarded-for'] ?? null,
      instance_id: req.headers['x-instance-id'] ?? null,
      tenant_id: req.headers['x-tenant-id'] ?? null,
      network_id: req.headers['x-quantum-network-id'] ?? null,
    }),
  );
}).listen({ host: address, port: Number(port), ipv6Only: address.includes(':') });
