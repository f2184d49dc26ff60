// The routing subsystem on real traffic: the agent's BIRD 2 sends router
// advertisements that a guest acts on, and announces the tenant's global IPv6
// prefix (never its ULA) to a BIRD 2 peer in the external namespace. The
// agent's daemons die with it, and a BIRD an earlier agent left is ended.
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { greets } from '../../appliance/drivers/routing/driver.js';
import { contains, parseAddress, parseCidr } from '../../contract/index.js';
import { Agent, REPO } from '../harness/agent.js';
import { spawnInNs, waitFor } from '../harness/exec.js';
import { alive, LAB, routerLab, type Topology } from '../harness/topology.js';

interface SubnetDoc {
  cidr: string;
  gateway_ip: string;
  dhcp_enabled: boolean;
  dns_nameservers: string[];
}
interface NetDoc {
  interface: { addresses: string[] };
  subnets: SubnetDoc[];
  allocations: { ip_addresses: Record<string, boolean> }[];
}
interface Doc {
  networks: NetDoc[];
  asn: number;
  neighbor_asn: number;
}

interface StepReport {
  subsystem: string;
  changed: boolean;
  commands: number;
  duration_ms: number;
}
interface Advertisement {
  managed: boolean;
  prefixes: Record<string, { autonomous: boolean }>;
  rdnss: string[];
}

describe('routing: BIRD 2 router advertisements and BGP', () => {
  let lab: Topology;
  let agent: Agent;
  let harness: Doc;
  const peer = { conf: '', socket: '' };

  // Tenant A on a global prefix with an IPv6 DNS server and SLAAC; tenant B
  // keeps its ULA with DHCPv6 (dhcp_enabled), as in the harness document.
  const slaac = (): Doc => {
    const doc = structuredClone(harness);
    const a = doc.networks[2]!;
    a.interface.addresses = ['198.51.100.1/26', '2001:db8:a::1/64'];
    a.subnets[1] = { ...a.subnets[1]!, cidr: '2001:db8:a::/64', gateway_ip: '2001:db8:a::1', dhcp_enabled: false, dns_nameservers: ['2001:db8:e::53'] };
    a.allocations[0]!.ip_addresses = { '198.51.100.10': true, '2001:db8:a::10': true };
    return doc;
  };
  const dhcpv6 = (): Doc => {
    const doc = slaac();
    doc.networks[2]!.subnets[1]!.dhcp_enabled = true;
    return doc;
  };

  const put = async (doc: Doc) => agent.request('PUT', '/v1/system/config', { body: doc });
  const lastReport = async () =>
    (await agent.request('GET', '/v1/system/apply')).json<{ report: { failed_step?: string; steps: StepReport[] } }>().report;
  const routingStep = async (): Promise<StepReport> => (await lastReport()).steps.find((s) => s.subsystem === 'routing')!;
  /**
   * Run `body` while the engine's last step (persisting the document) fails:
   * a directory stands where the agent writes its temporary file. Every step
   * before it, routing included, has applied by then and must be undone.
   */
  const failingPersist = async <T>(body: () => Promise<T>): Promise<T> => {
    const blocker = join(agent.stateDir, `applied.json.tmp-${agent.pid}`);
    await mkdir(join(blocker, 'blocked'), { recursive: true });
    try {
      return await body();
    } finally {
      await rm(blocker, { recursive: true, force: true });
    }
  };
  const daemonPids = async (): Promise<Record<string, number | undefined>> => {
    const { daemons } = (await agent.request('GET', '/v1/status')).json<{ daemons: { name: string; pid: number | null }[] }>();
    return Object.fromEntries(daemons.map((d) => [d.name, d.pid ?? undefined]));
  };
  const birdPid = async (): Promise<number | null> => {
    const { daemons } = (await agent.request('GET', '/v1/status')).json<{ daemons: { name: string; pid: number | null; running: boolean }[] }>();
    const bird = daemons.find((d) => d.name === 'bird');
    return bird?.running ? bird.pid : null;
  };

  /** One router advertisement received by `role`'s eth0, parsed from rdisc6; undefined when none came. */
  const advertisement = async (role: string): Promise<Advertisement | undefined> => {
    const { stdout, exitCode } = await lab.exec(role, ['rdisc6', '-1', '-w', '1500', '-r', '3', 'eth0'], { allowFailure: true });
    if (exitCode !== 0) return undefined;
    const ra: Advertisement = { managed: false, prefixes: {}, rdnss: [] };
    let prefix: string | undefined;
    for (const line of stdout.split('\n')) {
      const [key, value] = line.split(/\s*:\s+/, 2).map((s) => s.trim());
      if (key === 'Stateful address conf.') ra.managed = value === 'Yes';
      else if (key === 'Prefix' && value) ra.prefixes[(prefix = value)] = { autonomous: false };
      else if (key === 'Autonomous address conf.' && prefix) ra.prefixes[prefix]!.autonomous = value === 'Yes';
      else if (key === 'Recursive DNS server' && value) ra.rdnss.push(value);
    }
    return ra;
  };
  const waitForAdvertisement = async (role: string, what: string, accept: (ra: Advertisement) => boolean): Promise<Advertisement> => {
    let last: Advertisement | undefined;
    await waitFor(`${role} to receive ${what}`, async () => {
      last = await advertisement(role);
      return last !== undefined && accept(last);
    }, 30_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; last advertisement: ${JSON.stringify(last)}`);
    });
    return last!;
  };

  const peerBirdc = (...command: string[]) => lab.exec('ext', ['birdc', '-s', peer.socket, ...command], { allowFailure: true });
  const peerEstablished = () => waitFor('the BGP session to be established', async () => (await peerBirdc('show', 'protocols', 'appliance')).stdout.includes('Established'), 30_000);
  const peerPrefixes = async () =>
    (await peerBirdc('show', 'route', 'protocol', 'appliance')).stdout
      .split('\n')
      .map((line) => /^([0-9a-f:]+\/\d+)\s/.exec(line)?.[1])
      .filter((p) => p !== undefined)
      .sort();

  before(async () => {
    harness = JSON.parse(await readFile(join(REPO, 'test/fixtures/documents/harness-router.json'), 'utf8')) as Doc;
    lab = await routerLab();
    // The interfaces subsystem would set these addresses from the document;
    // set them by hand (idempotently) while it may still be a placeholder.
    // BIRD advertises the prefixes of the interface's own addresses.
    const addresses = [
      ['eth1', '192.0.2.2/24'], ['eth1', '2001:db8:e::2/64'],
      ['eth2', '198.51.100.1/26'], ['eth2', '2001:db8:a::1/64'],
      ['eth3', '198.51.100.65/26'], ['eth3', 'fd00:b::1/64'],
    ];
    await lab.exec('router', ['ip', '-batch', '-'], {
      input: addresses.map(([dev, cidr]) => `addr replace ${cidr} dev ${dev}${cidr!.includes(':') ? ' nodad' : ''}\n`).join(''),
    });
    for (const role of ['ta', 'tb']) await lab.exec(role, ['sysctl', '-qw', 'net.ipv6.conf.eth0.accept_ra=1', 'net.ipv6.conf.eth0.autoconf=1']);

    // The BGP peer: the external gateway, with short timers so a restarted
    // appliance is re-peered in seconds.
    const dir = join(lab.dir, 'peer');
    await mkdir(dir, { recursive: true });
    peer.conf = join(dir, 'bird.conf');
    peer.socket = join(dir, 'bird.ctl');
    const doc = slaac();
    await writeFile(
      peer.conf,
      [
        `router id ${LAB.ext.v4};`,
        'log stderr all;',
        'protocol device {}',
        'protocol direct { ipv6; interface "ext0"; }',
        'protocol bgp appliance {',
        `  local ${LAB.ext.v6} as ${doc.neighbor_asn};`,
        `  neighbor 2001:db8:e::2 as ${doc.asn};`,
        '  direct;',
        '  connect delay time 1; connect retry time 2; error wait time 1, 2;',
        '  ipv6 { import all; export none; };',
        '}',
        '',
      ].join('\n'),
    );
    void spawnInNs(lab.ns('ext'), ['bird', '-f', '-c', peer.conf, '-s', peer.socket, '-P', join(dir, 'bird.pid')], join(dir, 'bird.log'));

    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress] });
  });
  after(async () => {
    await agent?.stop();
    await lab?.destroy();
  });

  it('leaves no BIRD and no file behind when its first apply is rolled back', async () => {
    const answer = await failingPersist(() => put(slaac()));
    assert.equal(answer.status, 500, answer.body);
    const report = await lastReport();
    assert.equal(report.failed_step, 'persist');
    assert.equal(report.steps.find((s) => s.subsystem === 'routing')?.changed, true, 'bird had been started');
    assert.equal(await birdPid(), null);
    await assert.rejects(stat(join(agent.stateDir, 'bird/bird.conf')), { code: 'ENOENT' });
  });

  it('advertises the prefix and RDNSS; the guest configures a SLAAC address in it', async (t) => {
    const started = performance.now();
    const answer = await put(slaac());
    assert.equal(answer.status, 200, answer.body);
    const step = await routingStep();
    assert.equal(step.changed, true);
    assert.ok((await birdPid()) !== null, 'bird runs');
    t.diagnostic(`first apply: ${answer.status} in ${Math.round(performance.now() - started)} ms, routing step (start until the socket answers) ${step.duration_ms} ms`);

    await waitFor('the guest link-local address to leave DAD', async () => {
      const { stdout } = await lab.exec('ta', ['ip', '-6', '-j', 'addr', 'show', 'dev', 'eth0', 'scope', 'link']);
      const info = (JSON.parse(stdout) as { addr_info: { tentative?: boolean }[] }[])[0]?.addr_info ?? [];
      return info.length > 0 && info.every((a) => !a.tentative);
    });
    // Tenant B's subnet uses DHCPv6: its prefix is not for SLAAC, and the M flag is set.
    const [ra, raB] = await Promise.all([
      waitForAdvertisement('ta', 'the 2001:db8:a::/64 advertisement', (r) => '2001:db8:a::/64' in r.prefixes),
      waitForAdvertisement('tb', 'the fd00:b::/64 advertisement', (r) => 'fd00:b::/64' in r.prefixes),
    ]);
    assert.deepEqual(ra, { managed: false, prefixes: { '2001:db8:a::/64': { autonomous: true } }, rdnss: ['2001:db8:e::53'] });
    assert.deepEqual(raB, { managed: true, prefixes: { 'fd00:b::/64': { autonomous: false } }, rdnss: [] });

    const prefixA = parseCidr('2001:db8:a::/64')!;
    await waitFor('a SLAAC address in 2001:db8:a::/64 on the guest', async () => {
      const { stdout } = await lab.exec('ta', ['ip', '-6', '-j', 'addr', 'show', 'dev', 'eth0', 'scope', 'global']);
      // iproute2 lists lifetimes as separate entries without `local`.
      const info = (JSON.parse(stdout) as { addr_info: { local?: string }[] }[])[0]?.addr_info ?? [];
      return info.some((a) => a.local !== undefined && contains(prefixA, parseAddress(a.local)!));
    });
    t.diagnostic(`RAs received and SLAAC address configured ${Math.round(performance.now() - started)} ms after the PUT`);
  });

  it('announces exactly the global tenant prefix to the BGP peer, never the ULA', async (t) => {
    const started = performance.now();
    await peerEstablished();
    t.diagnostic(`session established ${Math.round(performance.now() - started)} ms into this test`);
    await waitFor('the peer to learn a prefix', async () => (await peerPrefixes()).length > 0);
    assert.deepEqual(await peerPrefixes(), ['2001:db8:a::/64']);
    // BIRD only watches the kernel's routing table; the routes driver owns it.
    for (const family of ['-4', '-6']) {
      assert.equal((await lab.exec('router', ['ip', family, 'route', 'show', 'proto', 'bird'])).stdout.trim(), '', `no ${family} route from BIRD`);
    }
  });

  it('reloads a changed configuration without a restart: DHCPv6 turns SLAAC off', async (t) => {
    const pid = await birdPid();
    const answer = await put(dhcpv6());
    assert.equal(answer.status, 200, answer.body);
    const step = await routingStep();
    assert.equal(step.changed, true);
    assert.equal(step.commands, 1, 'one birdc configure');
    t.diagnostic(`routing step of the reload: ${step.duration_ms} ms`);
    assert.equal(await birdPid(), pid, 'the same bird process, reconfigured');
    const ra = await waitForAdvertisement('ta', 'a non-autonomous 2001:db8:a::/64', (r) => r.prefixes['2001:db8:a::/64']?.autonomous === false);
    assert.equal(ra.managed, true);
  });

  it('puts the previous configuration back when a later step fails', async () => {
    const conf = join(agent.stateDir, 'bird/bird.conf');
    const before = await readFile(conf, 'utf8');
    const pid = await birdPid();
    const answer = await failingPersist(() => put(slaac()));
    assert.equal(answer.status, 500, answer.body);
    const report = await lastReport();
    assert.equal(report.failed_step, 'persist');
    assert.equal(report.steps.find((s) => s.subsystem === 'routing')?.changed, true, 'routing had applied the new document');
    assert.equal(await readFile(conf, 'utf8'), before);
    assert.equal(await birdPid(), pid);
    // BIRD itself is back on the DHCPv6 configuration, not only the file.
    const ra = await advertisement('ta');
    assert.equal(ra?.prefixes['2001:db8:a::/64']?.autonomous, false, JSON.stringify(ra));
  });

  it('runs no command when the same document is pushed again', async () => {
    assert.equal((await put(dhcpv6())).status, 200);
    const step = await routingStep();
    assert.equal(step.changed, false);
    assert.equal(step.commands, 0);
  });

  it('restarts BIRD when it dies, and the peer learns the prefix again', async (t) => {
    const pid = await birdPid();
    assert.ok(pid !== null);
    const started = performance.now();
    process.kill(pid, 'SIGKILL');
    let restarted: number | null = null;
    await waitFor('the agent to restart bird', async () => {
      restarted = await birdPid();
      return restarted !== null && restarted !== pid;
    });
    t.diagnostic(`bird restarted (pid ${pid} -> ${restarted}) after ${Math.round(performance.now() - started)} ms`);
    await waitFor('the peer to see the session go down', async () => !(await peerBirdc('show', 'protocols', 'appliance')).stdout.includes('Established'), 10_000).catch(() => undefined);
    await peerEstablished();
    await waitFor('the peer to learn the prefix again', async () => (await peerPrefixes()).length > 0);
    assert.deepEqual(await peerPrefixes(), ['2001:db8:a::/64']);
    t.diagnostic(`session re-established with the prefix ${Math.round(performance.now() - started)} ms after the kill`);
  });

  it('takes its daemons with it when the agent is killed (SIGKILL), and a new agent starts its own', async () => {
    const before = await daemonPids();
    assert.ok(before.bird !== undefined && before.dnsmasq !== undefined, JSON.stringify(before));
    await agent.kill();
    // By pid, never by name: other programs on the machine run their own.
    await waitFor('BIRD and dnsmasq to die with the agent', () => !alive(before.bird!) && !alive(before.dnsmasq!), 5000);
    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress], stateDir: agent.stateDir });
    // The new agent re-applies the persisted document at start-up.
    await waitFor('the new agent to run its own bird', async () => {
      const pid = await birdPid();
      return pid !== null && pid !== before.bird;
    });
  });

  it('ends a BIRD an earlier agent left behind (found by its record) before starting its own', async () => {
    // The second line of defence, for a daemon that escaped the first (left
    // by an agent without it, or one killed between starting the daemon and
    // arming the kernel's signal): a BIRD that is not the agent's child, on
    // the agent's own command line, named by the record the killed agent left.
    const record = join(agent.stateDir, 'bird', 'daemon.json');
    const { argv } = JSON.parse(await readFile(record, 'utf8')) as { argv: string[] };
    const own = await birdPid();
    await agent.kill();
    await waitFor('the killed agent’s BIRD to die with it', () => own === null || !alive(own), 5000);
    const orphan = spawnInNs(lab.ns('router'), argv, join(lab.dir, 'orphan-bird.log'));
    const orphanPid = orphan.pid!;
    await waitFor('the orphan BIRD to answer on the control socket', () => greets(join(agent.stateDir, 'bird', 'bird.ctl')));
    await writeFile(record, JSON.stringify({ pid: orphanPid, argv }));

    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress], stateDir: agent.stateDir });
    await waitFor('the new agent to run its own bird', async () => {
      const pid = await birdPid();
      return pid !== null && pid !== orphanPid;
    });
    assert.equal(alive(orphanPid), false, 'the old bird was ended, not left to fight over the socket');
    await orphan;
  });
});
