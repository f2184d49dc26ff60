// TCP bulk throughput between two namespaces, for the VPN benchmark.
//
//   node tcp-throughput.mjs server ADDRESS PORT
//       prints `listening`; for each connection counts the bytes it receives
//       and, when the client ends, writes the count back and closes.
//   node tcp-throughput.mjs client ADDRESS PORT SECONDS
//       sends as fast as the connection takes for SECONDS, ends, and prints
//       one JSON line: {"bytes": <counted by the server>, "seconds": <from
//       the first write to the server's count>}.
import { connect, createServer } from 'node:net';

const [mode, address, port, seconds] = process.argv.slice(2);

if (mode === 'server') {
  createServer((socket) => {
    let bytes = 0;
    socket.on('data', (chunk) => { bytes += chunk.length; });
    socket.on('end', () => socket.end(String(bytes)));
    socket.on('error', () => socket.destroy());
  }).listen({ host: address, port: Number(port) }, () => console.log('listening'));
} else {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const socket = connect({ host: address, port: Number(port) });
  let started = 0;
  let answer = '';
  socket.on('connect', () => {
    started = performance.now();
    const deadline = started + Number(seconds) * 1000;
    const pump = () => {
      while (performance.now() < deadline) {
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    pump();
  });
  socket.on('data', (data) => { answer += data; });
  socket.on('end', () => {
    console.log(JSON.stringify({ bytes: Number(answer), seconds: (performance.now() - started) / 1000 }));
  });
  socket.on('error', (error) => { console.error(error.message); process.exit(1); });
}
