import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { NeutronPort } from '../../model/neutron.js';
import { agentArgv, configureCommandFor, nextInterfaceName, packageRoot, parseInstanceRecord, parseProcStat, vethArgs, type InstanceRecord } from './compute.js';
import { isApplianceOf } from '../../core/driver.js';

const PORT: NeutronPort = {
  id: '7d0c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
  network_id: '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b',
  mac_address: 'fa:16:3e:12:34:56',
  fixed_ips: [{ subnet_id: 's', ip_address: '198.51.100.1' }],
  device_id: 'router-id',
  device_owner: 'network:router_interface',
};

const RECORD: InstanceRecord = {
  id: '0f1e2d3c-4b5a-4968-8776-655443322110',
  name: 'ak-router-r1',
  bootedAt: 1_700_000_000_000,
  resource: { driver: 'router', id: 'r1', tenantId: 't1' },
  management: { port: { ...PORT, id: 'mgmt-port' }, interface: 'eth0', hostInterface: 'tapmgmt-port' },
  ports: [{ port: PORT, interface: 'eth1', hostInterface: 'tap7d0c1a2b-3c' }],
  agent: { pid: 4242, startTime: 987_654 },
};

describe('instance names', () => {
  it('match the name itself and its numbered HA members only', () => {
    assert.ok(isApplianceOf('ak-router-r1', 'ak-router-r1'));
    assert.ok(isApplianceOf('ak-router-r1_0', 'ak-router-r1'));
    assert.ok(isApplianceOf('ak-router-r1_12', 'ak-router-r1'));
    assert.ok(!isApplianceOf('ak-router-r10', 'ak-router-r1'));
    assert.ok(!isApplianceOf('ak-router-r1_', 'ak-router-r1'));
    assert.ok(!isApplianceOf('ak-router-r1_x', 'ak-router-r1'));
  });
});

describe('nextInterfaceName', () => {
  it('takes the lowest free ethN, as the kernel does', () => {
    assert.equal(nextInterfaceName([]), 'eth0');
    assert.equal(nextInterfaceName(['lo', 'eth0', 'eth1', 'eth2']), 'eth3');
    assert.equal(nextInterfaceName(['eth0', 'eth2']), 'eth1');
  });
});

describe('parseProcStat', () => {
  it('reads the state and field 22 even when the command name holds spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[0] = 'S';
    fields[19] = '123456';
    assert.deepEqual(parseProcStat(`77 (node (a) b) ${fields.join(' ')}`), { state: 'S', startTime: 123456 });
  });

  it('reads this process', async () => {
    const stat = parseProcStat(await readFile(`/proc/${process.pid}/stat`, 'utf8'));
    assert.ok(stat && stat.startTime > 0);
  });

  it('refuses a truncated line', () => {
    assert.equal(parseProcStat('77 (x) S 1 2'), undefined);
  });
});

describe('vethArgs', () => {
  it('puts the host end on the network bridge and the MAC, MTU and name on the appliance end', () => {
    assert.deepEqual(vethArgs(PORT, 'eth1', 'ak-router-r1', 1450), [
      'link', 'add', 'tap7d0c1a2b-3c', 'mtu', '1450', 'master', 'brq5e6f7a8b-9c', 'up',
      'type', 'veth', 'peer', 'name', 'eth1', 'address', 'fa:16:3e:12:34:56', 'mtu', '1450', 'netns', 'ak-router-r1',
    ]);
    assert.ok(!vethArgs(PORT, 'eth1', 'ns', undefined).includes('mtu'));
  });
});

describe('agentArgv', () => {
  const launch = { namespace: 'ak-router-r1', initScript: '/pkg/init.sh', agentCommand: ['/pkg/bin/astara-appliance'], stateDir: '/s/ak-router-r1/state', port: 5000, tls: undefined };

  it('runs the agent through the init script in private mount and UTS namespaces, on its recorded address', () => {
    assert.deepEqual(agentArgv(launch), [
      'ip', 'netns', 'exec', 'ak-router-r1', 'unshare', '--mount', '--uts', '--propagation', 'private', '--',
      'sh', '/pkg/init.sh', '/pkg/bin/astara-appliance', 'serve', '--state-dir', '/s/ak-router-r1/state', '--port', '5000',
    ]);
    assert.ok(!agentArgv(launch).includes('--listen'));
  });

  it('hands the agent its TLS material', () => {
    const argv = agentArgv({ ...launch, tls: { certFile: '/t/cert.pem', keyFile: '/t/key.pem', clientCaFile: '/t/ca.pem' } });
    assert.deepEqual(argv.slice(-6), ['--tls-cert', '/t/cert.pem', '--tls-key', '/t/key.pem', '--tls-client-ca', '/t/ca.pem']);
  });
});

describe('configureCommandFor', () => {
  it('finds the first-boot command beside the agent, keeping an interpreter', () => {
    assert.deepEqual(configureCommandFor(['/opt/astara/bin/astara-appliance']), ['/opt/astara/bin/astara-configure-management']);
    assert.deepEqual(configureCommandFor(['node', '/opt/astara/bin/astara-appliance']), ['node', '/opt/astara/bin/astara-configure-management']);
  });

  it('names the agent command it cannot derive from', () => {
    assert.throws(() => configureCommandFor(['/usr/bin/my-agent', '--flag']), /agent command "\/usr\/bin\/my-agent --flag".*give configureCommand/);
  });
});

describe('packageRoot', () => {
  it('finds the directory holding bin/astara-appliance above a module', async () => {
    const root = await mkdtemp(join(tmpdir(), 'astara-root-'));
    try {
      await mkdir(join(root, 'bin'));
      await writeFile(join(root, 'bin', 'astara-appliance'), '');
      await mkdir(join(root, 'dist', 'orchestrator', 'providers', 'local'), { recursive: true });
      assert.equal(packageRoot(join(root, 'dist', 'orchestrator', 'providers', 'local')), root);
      assert.throws(() => packageRoot(tmpdir()), /no bin\/astara-appliance in/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('parseInstanceRecord', () => {
  it('round-trips a record through JSON', () => {
    assert.deepEqual(parseInstanceRecord(JSON.parse(JSON.stringify(RECORD)), 'r.json'), RECORD);
  });

  it('reads a record written at the start of a boot, before the agent runs', () => {
    const booting = { ...RECORD, agent: null };
    assert.deepEqual(parseInstanceRecord(JSON.parse(JSON.stringify(booting)), 'r.json'), booting);
  });

  it('names the file and the field that is wrong', () => {
    assert.throws(() => parseInstanceRecord({ ...RECORD, agent: { pid: 'x', startTime: 1 } }, 'r.json'), /^Error: r\.json: agent\.pid is not a non-negative integer$/);
    assert.throws(() => parseInstanceRecord({ ...RECORD, ports: [{ ...RECORD.ports[0], port: { id: 'p' } }] }, 'r.json'), /r\.json: ports\[0\]\.port\.network_id is not a non-empty string/);
    assert.throws(() => parseInstanceRecord([], 'r.json'), /r\.json: resource is not an object/);
  });
});
