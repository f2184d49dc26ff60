// A tiny HTTP server for namespace tests: answers every request with the
// client's address, so a test can see what address NAT gave it. Binds one
// address only, and does no reverse DNS lookup (unlike python's http.server).
import { createServer } from 'node:http';

const [address, port] = process.argv.slice(2);
createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`${req.socket.remoteAddress}\n`);
}).listen({ host: address, port: Number(port), ipv6Only: address.includes(':') });
