// Management bootstrap: astara-configure-management picks the interface by
// MAC among several, and the agent then listens on that address only.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, REPO } from '../harness/agent.js';
import { Topology } from '../harness/topology.js';

const MGMT_MAC = '02:00:00:00:05:01';
const MGMT = 'fdca:3ba5:a17a:acda::2';

describe('management bootstrap', () => {
  let lab: Topology;
  let stateDir: string;
  const configure = (args: string[]) =>
    lab.exec('router', [process.execPath, join(REPO, 'bin/astara-configure-management'), '--state-dir', stateDir, ...args], { allowFailure: true });

  before(async () => {
    lab = await Topology.create({
      namespaces: ['router', 'peer'],
      links: [
        [{ ns: 'router', ifname: 'eth0', mac: '02:00:00:00:05:00' }, { ns: 'peer', ifname: 'p0', addresses: ['192.0.2.1/24'] }],
        [{ ns: 'router', ifname: 'eth1', mac: MGMT_MAC }, { ns: 'peer', ifname: 'p1', addresses: ['fdca:3ba5:a17a:acda::1/64'] }],
        [{ ns: 'router', ifname: 'eth2', mac: '02:00:00:00:05:02' }, { ns: 'peer', ifname: 'p2', addresses: ['198.51.100.1/24'] }],
      ],
    });
    stateDir = join(lab.dir, 'state');
  });
  after(async () => {
    await lab?.destroy();
  });

  it('refuses to serve without --listen when no management address is recorded', async () => {
    const result = await lab.exec('router', [process.execPath, join(REPO, 'bin/astara-appliance'), 'serve', '--state-dir', stateDir], { allowFailure: true });
    assert.equal(result.exitCode, 2);
    assert.match(result.stderr, /no --listen address given and no management address recorded/);
  });

  it('rejects bad arguments naming them, and changes nothing', async () => {
    const badMac = await configure(['02:00:00:00:05', `${MGMT}/64`]);
    assert.notEqual(badMac.exitCode, 0);
    assert.match(badMac.stderr, /MAC/);
    const unknownMac = await configure(['02:00:00:00:05:09', `${MGMT}/64`]);
    assert.match(unknownMac.stderr, /no interface has the MAC/);
    const badMtu = await configure([MGMT_MAC, `${MGMT}/64`, '--mtu', '1000']);
    assert.match(badMtu.stderr, /--mtu/);
    const { stdout } = await lab.ip('router', ['-j', 'addr', 'show', 'eth1']);
    const [link] = JSON.parse(stdout) as { addr_info: { local: string }[] }[];
    assert.ok(!link!.addr_info.some((a) => a.local === MGMT));
  });

  it('configures the interface with that MAC, records it, and writes the sshd ListenAddress', async () => {
    const sshd = join(lab.dir, 'sshd-astara.conf');
    const result = await configure([MGMT_MAC, `${MGMT}/64`, '--sshd-config', sshd]);
    assert.equal(result.exitCode, 0, result.stderr);
    const links = JSON.parse((await lab.ip('router', ['-j', 'addr', 'show'])).stdout) as { ifname: string; mtu: number; flags: string[]; addr_info: { local: string; prefixlen: number; tentative?: boolean }[] }[];
    const eth1 = links.find((l) => l.ifname === 'eth1')!;
    assert.equal(eth1.mtu, 1280);
    assert.ok(eth1.flags.includes('UP'));
    const address = eth1.addr_info.find((a) => a.local === MGMT);
    assert.ok(address, 'the management address is on eth1');
    assert.equal(address.prefixlen, 64);
    assert.notEqual(address.tentative, true, 'no duplicate address detection');
    for (const other of links.filter((l) => l.ifname === 'eth0' || l.ifname === 'eth2')) {
      assert.ok(!other.addr_info.some((a) => a.local === MGMT));
    }
    const record = JSON.parse(await readFile(join(stateDir, 'management.json'), 'utf8')) as { address: string; prefix: number; mac: string };
    assert.deepEqual({ address: record.address, prefix: record.prefix, mac: record.mac }, { address: MGMT, prefix: 64, mac: MGMT_MAC });
    assert.match(await readFile(sshd, 'utf8'), new RegExp(`^ListenAddress ${MGMT}$`, 'm'));
  });

  it('reads the same from cloud-init user data', async () => {
    const userData = join(lab.dir, 'user_data');
    await writeFile(userData, `#cloud-config\nbootcmd:\n  - /usr/local/bin/astara-configure-management ${MGMT_MAC} ${MGMT}/64\nfinal_message: "Astara appliance is running"\n`);
    const result = await configure(['--from-user-data', userData, '--mtu', '1400']);
    assert.equal(result.exitCode, 0, result.stderr);
    const [eth1] = JSON.parse((await lab.ip('router', ['-j', 'link', 'show', 'eth1'])).stdout) as { mtu: number }[];
    assert.equal(eth1!.mtu, 1400);
  });

  it('makes the agent listen on the recorded address only', async () => {
    await lab.ip('router', ['addr', 'add', '192.0.2.2/24', 'dev', 'eth0']);
    await lab.ip('router', ['link', 'set', 'eth0', 'up']);
    await lab.ip('router', ['addr', 'add', '198.51.100.2/24', 'dev', 'eth2']);
    await lab.ip('router', ['link', 'set', 'eth2', 'up']);
    const agent = await Agent.start(lab, { stateDir, connectAddress: MGMT, clientRole: 'peer' });
    try {
      assert.equal((await agent.request('GET', '/v1/base/')).status, 200);
      for (const other of ['192.0.2.2', '198.51.100.2']) {
        const refused = await lab.exec('peer', ['curl', '-sS', '--max-time', '3', `http://${other}:5000/v1/base/`], { allowFailure: true });
        assert.equal(refused.exitCode, 7, `nothing listens on ${other}: ${refused.stderr}`);
      }
    } finally {
      await agent.stop();
    }
  });
});
