// A load-balancer member for namespace tests: answers with its own name, so a
// test can tell which member served it. `http` mode answers every request
// (`/healthz` at once, anything else after `delay` ms); `tcp` mode writes the
// name and closes. Binds one address only; prints `listening` once it does.
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';

const [mode, name, address, port, delay = '0'] = process.argv.slice(2);
const listen = { host: address, port: Number(port), ipv6Only: address.includes(':') };
const ready = () => console.log(`listening ${name} ${mode} ${address}:${port}`);

if (mode === 'tcp') {
  createTcpServer((socket) => socket.end(`${name}\n`)).listen(listen, ready);
} else {
  const server = createHttpServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    if (req.url === '/healthz') {
      res.end('ok\n');
      return;
    }
    setTimeout(() => res.end(`${name}\n`), Number(delay));
  });
  // Longer than nginx keeps an idle upstream connection: nginx closes first.
  server.keepAliveTimeout = 30_000;
  server.listen(listen, ready);
}
