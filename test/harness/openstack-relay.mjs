// Carries TCP connections to the OpenStack services on the host's 127.0.0.1
// into a test's network namespace, whose own loopback cannot reach them:
// through UNIX sockets, which the file system shares across namespaces.
//   node openstack-relay.mjs host DIR PORT...       (in the host's namespace) DIR/PORT.sock -> 127.0.0.1:PORT
//   node openstack-relay.mjs namespace DIR PORT...  (in the test namespace)   127.0.0.1:PORT -> DIR/PORT.sock
// Prints "ready" once every listener listens.
import { rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';

const [side, dir, ...ports] = process.argv.slice(2);
if ((side !== 'host' && side !== 'namespace') || !dir || ports.length === 0) {
  console.error('usage: openstack-relay.mjs host|namespace DIR PORT...');
  process.exit(2);
}

const relay = (connect) => (socket) => {
  const upstream = connect();
  socket.pipe(upstream).pipe(socket);
  const close = () => {
    socket.destroy();
    upstream.destroy();
  };
  socket.on('error', close);
  upstream.on('error', close);
};

await Promise.all(
  ports.map(
    (port) =>
      new Promise((resolve, reject) => {
        const path = join(dir, `${port}.sock`);
        const server =
          side === 'host'
            ? createServer(relay(() => createConnection({ host: '127.0.0.1', port: Number(port) })))
            : createServer(relay(() => createConnection({ path })));
        server.once('error', reject);
        if (side === 'host') {
          rmSync(path, { force: true });
          server.listen(path, resolve);
        } else {
          server.listen({ host: '127.0.0.1', port: Number(port) }, resolve);
        }
      }),
  ),
);
console.log('ready');
