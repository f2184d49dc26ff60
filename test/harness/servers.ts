// Helper processes that tests run inside namespaces.
import { join } from 'node:path';
import { REPO } from './agent.js';
import { spawnInNs, waitFor } from './exec.js';
import type { Topology } from './topology.js';

/** Start the echo server in `role` on address:port and wait until it answers; it ends with the topology. */
export function startEchoServer(lab: Topology, role: string, address: string, port = 8080): Promise<void> {
  return startServer(lab, role, 'echo-server.mjs', address, port);
}

/** Start the fake metadata service (answers with the identity headers it got). */
export function startMetadataServer(lab: Topology, role: string, address: string, port = 9697): Promise<void> {
  return startServer(lab, role, 'metadata-server.mjs', address, port);
}

async function startServer(lab: Topology, role: string, script: string, address: string, port: number): Promise<void> {
  const host = address.includes(':') ? `[${address}]` : address;
  // Ended by the topology's teardown, which ends every process in its namespaces.
  void spawnInNs(lab.ns(role), [process.execPath, join(REPO, 'test/harness', script), address, String(port)], join(lab.dir, `${script}-${role}-${port}.log`));
  await waitFor(`the echo server on ${host}:${port}`, async () => {
    const probe = await lab.exec(role, ['curl', '-sS', '-g', '--max-time', '1', `http://${host}:${port}/`], { allowFailure: true });
    return probe.exitCode === 0;
  });
}

/** What the echo server at url says the client's address is, asked from `role`; undefined when unreachable. */
export async function seenAs(lab: Topology, role: string, url: string, timeoutS = 3): Promise<string | undefined> {
  const result = await lab.exec(role, ['curl', '-sS', '-g', '--max-time', String(timeoutS), url], { allowFailure: true });
  return result.exitCode === 0 ? result.stdout.trim().replace(/^::ffff:/, '') : undefined;
}
