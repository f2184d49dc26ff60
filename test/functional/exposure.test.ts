// What guests can reach on the router itself (issue item 9): each tenant
// network's guests get their own network's metadata listener (through
// 169.254.169.254) and nothing of another network's; no guest can open the
// routing daemon's BGP port; the configured BGP peer still can. Each metadata
// listener also refuses, by itself, any source outside its network.
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, REPO } from '../harness/agent.js';
import { run, spawnInNs, waitFor } from '../harness/exec.js';
import { startMetadataServer } from '../harness/servers.js';
import { LAB, routerLab, type Topology } from '../harness/topology.js';

interface Doc {
  asn: number;
  neighbor_asn: number;
  networks: { network_id: string; allocations: { device_id: string }[] }[];
}
interface Seen {
  forwarded_for: string;
  instance_id: string;
  network_id: string;
}

const GUEST_A = '198.51.100.10';
const GUEST_B = '198.51.100.74';
const ROUTER_A = '198.51.100.1';
const ROUTER_B = '198.51.100.65';
const ROUTER_EXT6 = '2001:db8:e::2';
/** An address on the external link that is not the BGP peer. */
const STRANGER = '2001:db8:e::99';
const BGP = 179;

/**
 * A TCP connect attempt from a namespace: prints `connected`, `refused` (a
 * reset: nothing listens, the firewall let it through), `timeout` (dropped)
 * or the error code.
 */
const CONNECT = [
  "const [host, port, localAddress] = process.argv.slice(1);",
  "setTimeout(() => { console.log('timeout'); process.exit(0); }, 2000);",
  "require('node:net').connect({ host, port: Number(port), ...(localAddress ? { localAddress } : {}) })",
  "  .on('connect', () => { console.log('connected'); process.exit(0); })",
  "  .on('error', (e) => { console.log(e.code === 'ECONNREFUSED' ? 'refused' : e.code); process.exit(0); });",
].join('\n');

describe('exposure: what guests can reach on the router', () => {
  let lab: Topology;
  let agent: Agent;
  let doc: Doc;
  const peer = { socket: '' };

  const tcp = async (role: string, host: string, port: number, from?: string): Promise<string> =>
    (await lab.exec(role, [process.execPath, '-e', CONNECT, host, String(port), ...(from ? [from] : [])])).stdout.trim();
  const metadata = async (role: string, url: string, from?: string) =>
    lab.exec(role, ['curl', '-sS', '--max-time', '3', ...(from ? ['--interface', from] : []), url], { allowFailure: true, timeoutMs: 10_000 });
  const peerBirdc = (...command: string[]) => lab.exec('ext', ['birdc', '-s', peer.socket, ...command], { allowFailure: true });

  before(async () => {
    lab = await routerLab();
    doc = JSON.parse(await readFile(join(REPO, 'test/fixtures/documents/harness-router.json'), 'utf8')) as Doc;
    await startMetadataServer(lab, 'mgmt', LAB.mgmtPeer);
    // The guests, configured by hand (DHCP is another test's subject).
    for (const [role, v4, gw4, v6, gw6] of [
      ['ta', `${GUEST_A}/26`, ROUTER_A, 'fd00:a::10/64', 'fd00:a::1'],
      ['tb', `${GUEST_B}/26`, ROUTER_B, 'fd00:b::10/64', 'fd00:b::1'],
    ] as const) {
      await run(['ip', '-n', lab.ns(role), '-batch', '-'], {
        input: `addr add ${v4} dev eth0\nroute add default via ${gw4}\naddr add ${v6} dev eth0 nodad\nroute add ::/0 via ${gw6}\n`,
      });
    }
    await lab.ip('ext', ['addr', 'add', `${STRANGER}/64`, 'dev', 'ext0', 'nodad']);

    // The BGP peer: the external gateway of the document (its IPv6 subnet's gateway).
    const dir = join(lab.dir, 'peer');
    await mkdir(dir, { recursive: true });
    const conf = join(dir, 'bird.conf');
    peer.socket = join(dir, 'bird.ctl');
    await writeFile(
      conf,
      [
        `router id ${LAB.ext.v4};`,
        'log stderr all;',
        'protocol device {}',
        'protocol bgp appliance {',
        `  local ${LAB.ext.v6} as ${doc.neighbor_asn};`,
        `  neighbor ${ROUTER_EXT6} as ${doc.asn};`,
        '  direct;',
        '  connect delay time 1; connect retry time 2; error wait time 1, 2;',
        '  ipv6 { import all; export none; };',
        '}',
        '',
      ].join('\n'),
    );
    void spawnInNs(lab.ns('ext'), ['bird', '-f', '-c', conf, '-s', peer.socket, '-P', join(dir, 'bird.pid')], join(dir, 'bird.log'));

    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress] });
    const answer = await agent.request('PUT', '/v1/system/config', { body: doc });
    assert.equal(answer.status, 200, answer.body);
  });
  after(async () => {
    await agent?.stop();
    await lab?.destroy();
  });

  it('serves each guest its own network’s metadata through 169.254.169.254', async () => {
    for (const [role, guest, network] of [['ta', GUEST_A, doc.networks[2]!], ['tb', GUEST_B, doc.networks[3]!]] as const) {
      const answer = await metadata(role, 'http://169.254.169.254/latest/meta-data/instance-id');
      assert.equal(answer.exitCode, 0, answer.stderr);
      const seen = JSON.parse(answer.stdout) as Seen;
      assert.deepEqual(
        { forwarded_for: seen.forwarded_for, instance_id: seen.instance_id, network_id: seen.network_id },
        { forwarded_for: guest, instance_id: network.allocations[0]!.device_id, network_id: network.network_id },
      );
    }
  });

  it('drops a guest’s connection to another network’s metadata listener', async () => {
    assert.deepEqual(
      await Promise.all([tcp('ta', ROUTER_B, 9603), tcp('tb', ROUTER_A, 9602), tcp('ta', ROUTER_A, 9602), tcp('tb', ROUTER_B, 9603)]),
      ['timeout', 'timeout', 'connected', 'connected'],
    );
    // And so no upstream request ever carries the other network's identity.
    const crossed = await metadata('ta', `http://${ROUTER_B}:9603/latest/meta-data/instance-id`);
    assert.equal(crossed.exitCode, 28, crossed.stdout);
  });

  it('has each metadata listener refuse, by itself, a source outside its network', async () => {
    // From the router's own namespace the firewall accepts everything (loopback):
    // only the listener's own check stands between network A's address and B's listener.
    const url = `http://${ROUTER_B}:9603/latest/meta-data/instance-id`;
    const [outside, inside] = await Promise.all([metadata('router', url, ROUTER_A), metadata('router', url, ROUTER_B)]);
    assert.ok([52, 56].includes(outside.exitCode), `refused without an answer (curl exit ${outside.exitCode}): ${outside.stdout}`);
    assert.equal(outside.stdout, '');
    assert.equal(inside.exitCode, 0, inside.stderr);
    assert.equal((JSON.parse(inside.stdout) as Seen).network_id, doc.networks[3]!.network_id);
  });

  it('drops guests’ connections to the BGP port on every router address', async () => {
    const targets = [
      ['ta', 'fd00:a::1'],
      ['ta', ROUTER_A],
      ['ta', ROUTER_EXT6],
      ['tb', 'fd00:b::1'],
      ['tb', ROUTER_B],
    ] as const;
    const outcomes = await Promise.all(targets.map(([role, address]) => tcp(role, address, BGP)));
    assert.deepEqual(Object.fromEntries(targets.map(([role, address], i) => [`${role} -> ${address}`, outcomes[i]])), {
      'ta -> fd00:a::1': 'timeout',
      [`ta -> ${ROUTER_A}`]: 'timeout',
      [`ta -> ${ROUTER_EXT6}`]: 'timeout',
      'tb -> fd00:b::1': 'timeout',
      [`tb -> ${ROUTER_B}`]: 'timeout',
    });
  });

  it('lets the configured BGP peer, and no other host on its link, open a session', async () => {
    await waitFor('the BGP session to be established', async () => (await peerBirdc('show', 'protocols', 'appliance')).stdout.includes('Established'), 30_000);
    assert.deepEqual(await Promise.all([tcp('ext', ROUTER_EXT6, BGP, LAB.ext.v6), tcp('ext', ROUTER_EXT6, BGP, STRANGER)]), ['connected', 'timeout']);
  });
});
