// Many load-balancer members in one process, for the benchmark of monitored
// members: a TCP server on each port of FIRST..FIRST+COUNT-1 at ADDRESS that
// writes nothing and closes. Prints `listening N` once every port listens.
//
//   node many-members.mjs ADDRESS FIRST COUNT
import { createServer } from 'node:net';

const [address, first, count] = process.argv.slice(2);
const ports = Array.from({ length: Number(count) }, (_, i) => Number(first) + i);
await Promise.all(ports.map((port) => new Promise((resolve, reject) => {
  const server = createServer((socket) => socket.destroy());
  server.once('error', reject);
  server.listen({ host: address, port }, resolve);
})));
console.log(`listening ${ports.length}`);
