// Long-lived flows for HA tests, run inside a namespace. Every line the
// clients write on their output is one JSON event with its wall-clock time
// (`at`, ms), so a test can tell when traffic stopped and came back.
//
//   node flow.mjs tcp-server ADDRESS PORT          echoes every line back
//   node flow.mjs tcp-client ADDRESS PORT COUNT INTERVAL_MS
//       COUNT connections, each sending a numbered line every INTERVAL_MS;
//       events: open, echo (conn, seq), error (conn, message), close (conn)
//   node flow.mjs tcp-pusher ADDRESS PORT INTERVAL_MS
//       sends every client a numbered line every INTERVAL_MS, reads nothing
//   node flow.mjs tcp-reader ADDRESS PORT COUNT
//       COUNT connections that only read (they send nothing but ACKs);
//       events: open, echo (conn, seq), error, close
//   node flow.mjs udp-server ADDRESS PORT          echoes every datagram back
//   node flow.mjs udp-client ADDRESS PORT INTERVAL_MS
//       a numbered datagram every INTERVAL_MS; events: reply (seq, sent: when
//       the datagram answered was sent)
//
// Addresses are bound or dialled as given: no name is resolved.
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';

const [mode, address, portText, ...rest] = process.argv.slice(2);
const port = Number(portText);
const family = address.includes(':') ? 6 : 4;
const emit = (event) => process.stdout.write(`${JSON.stringify({ at: Date.now(), ...event })}\n`);

if (mode === 'tcp-server') {
  createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  }).listen({ host: address, port, ipv6Only: family === 6 });
} else if (mode === 'tcp-client') {
  const [count, interval] = rest.map(Number);
  for (let conn = 0; conn < count; conn++) {
    const socket = connect({ host: address, port, noDelay: true });
    let seq = 0;
    let partial = '';
    let timer;
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      emit({ event: 'open', conn });
      timer = setInterval(() => socket.write(`${conn} ${seq++}\n`), interval);
    });
    socket.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) emit({ event: 'echo', conn, seq: Number(line.split(' ')[1]) });
    });
    socket.on('error', (error) => emit({ event: 'error', conn, message: error.message }));
    socket.on('close', () => {
      clearInterval(timer);
      emit({ event: 'close', conn });
    });
  }
} else if (mode === 'tcp-pusher') {
  const [interval] = rest.map(Number);
  createServer((socket) => {
    socket.setNoDelay(true);
    let seq = 0;
    const timer = setInterval(() => socket.write(`0 ${seq++}\n`), interval);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => clearInterval(timer));
    socket.resume();
  }).listen({ host: address, port, ipv6Only: family === 6 });
} else if (mode === 'tcp-reader') {
  const [count] = rest.map(Number);
  for (let conn = 0; conn < count; conn++) {
    const socket = connect({ host: address, port });
    let partial = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => emit({ event: 'open', conn }));
    socket.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) emit({ event: 'echo', conn, seq: Number(line.split(' ')[1]) });
    });
    socket.on('error', (error) => emit({ event: 'error', conn, message: error.message }));
    socket.on('close', () => emit({ event: 'close', conn }));
  }
} else if (mode === 'udp-server') {
  const socket = createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6 });
  socket.on('message', (message, peer) => socket.send(message, peer.port, peer.address));
  socket.bind(port, address);
} else if (mode === 'udp-client') {
  const [interval] = rest.map(Number);
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  let seq = 0;
  socket.on('message', (message) => {
    const [answered, sent] = message.toString().split(' ').map(Number);
    emit({ event: 'reply', seq: answered, sent });
  });
  // A send that fails (no route for a moment) is like a lost datagram.
  socket.on('error', () => undefined);
  setInterval(() => socket.send(`${seq++} ${Date.now()}`, port, address, () => undefined), interval);
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
