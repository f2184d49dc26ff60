// DHCP on the tenant networks, proven with a real dhclient in the guest
// namespaces against the agent's supervised dnsmasq: the lease carries the
// allocation's address, hostname, DNS servers and routes; an allocation change
// reaches dnsmasq by SIGHUP (same pid); unknown MACs get nothing; a killed
// dnsmasq comes back; a re-push runs nothing; a hostname dnsmasq would read
// as something else is refused; a dnsmasq that cannot start is retried until
// it serves again, without a new push.
import assert from 'node:assert/strict';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, REPO } from '../harness/agent.js';
import { DhcpClient } from '../harness/dhclient.js';
import { waitFor } from '../harness/exec.js';
import { alive, LAB, routerLab, signal, type Topology } from '../harness/topology.js';

interface NetDoc {
  interface: { ifname: string };
  subnets: { dhcp_enabled: boolean; host_routes: unknown[] }[];
  allocations: { mac_address: string; ip_addresses: Record<string, boolean>; hostname: string }[];
}
interface Doc {
  networks: NetDoc[];
  floating_ips: { floating_ip: string; fixed_ip: string }[];
}
interface DaemonStatus {
  name: string;
  running: boolean;
  pid: number | null;
  restarts: number;
  last_error: string | null;
}
interface ApplyReport {
  ok: boolean;
  steps: { subsystem: string; changed: boolean; commands: number; duration_ms: number }[];
}

const network = (doc: Doc, ifname: string) => doc.networks.find((n) => n.interface.ifname === ifname)!;

describe('DHCP from the agent’s dnsmasq to guests in namespaces', () => {
  let lab: Topology;
  let agent: Agent;
  let doc: Doc;
  let guestA: DhcpClient;
  const timings: Record<string, number> = {};

  const put = async (body: Doc) => {
    const answer = await agent.request('PUT', '/v1/system/config', { body });
    assert.equal(answer.status, 200, answer.body);
    const report = (await agent.request('GET', '/v1/system/apply')).json<{ report: ApplyReport }>().report;
    return report.steps.find((s) => s.subsystem === 'dhcp')!;
  };
  const dnsmasq = async () => {
    const { daemons } = (await agent.request('GET', '/v1/status')).json<{ daemons: DaemonStatus[] }>();
    return daemons.find((d) => d.name === 'dnsmasq');
  };
  const generation = async () => (await agent.request('GET', '/v1/status')).json<{ generation: number }>().generation;
  const dnsmasqLog = () => readFile(join(agent.stateDir, 'dnsmasq', 'dnsmasq.log'), 'utf8');
  const guestAddresses = async (role: string) =>
    (await lab.exec(role, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout.match(/inet \S+/g)?.map((m) => m.slice(5)) ?? [];

  before(async () => {
    lab = await routerLab();
    // Stand-in for the interfaces subsystem (a placeholder while this was
    // written): the router's tenant addresses, which dnsmasq answers from.
    // `replace` keeps this harmless once that subsystem sets them itself.
    await lab.ip('router', ['addr', 'replace', '198.51.100.1/26', 'dev', 'eth2']);
    await lab.ip('router', ['addr', 'replace', '198.51.100.65/26', 'dev', 'eth3']);
    agent = await Agent.start(lab, { listen: [LAB.mgmtAddress] });
    guestA = new DhcpClient(lab, 'ta');

    doc = JSON.parse(await readFile(join(REPO, 'test/fixtures/documents/harness-router.json'), 'utf8')) as Doc;
    const a = network(doc, 'ge2');
    a.allocations = [{ ...a.allocations[0]!, mac_address: LAB.guestMacs.ta, ip_addresses: { '198.51.100.10': true, 'fd00:a::10': true }, hostname: 'guest-a.openstacklocal' }];
    a.subnets[0]!.host_routes = [{ destination: '198.51.100.128/26', nexthop: '198.51.100.2' }];
    // Tenant B's only allocation is for another MAC: its guest is unknown.
    const b = network(doc, 'ge3');
    b.allocations = [{ ...b.allocations[0]!, mac_address: '02:00:00:00:03:00' }];
  });
  after(async () => {
    await guestA?.stop();
    await agent?.stop();
    await lab?.destroy();
    console.log('dhcp timings (ms):', JSON.stringify(timings));
  });

  it('gives the guest its address, hostname, DNS servers and routes', async () => {
    const started = performance.now();
    const step = await put(doc);
    timings.firstApplyDhcpStep = step.duration_ms;
    timings.firstPut = Math.round(performance.now() - started);
    assert.equal(step.changed, true);
    const daemon = await dnsmasq();
    assert.ok(daemon?.running && daemon.pid, JSON.stringify(daemon));
    const cmdline = (await readFile(`/proc/${daemon.pid}/cmdline`, 'utf8')).split('\0');
    assert.deepEqual(cmdline.slice(0, 3), ['dnsmasq', '--keep-in-foreground', `--conf-file=${join(agent.stateDir, 'dnsmasq', 'dnsmasq.conf')}`]);

    const attempt = await guestA.lease();
    timings.firstLease = attempt.ms;
    assert.equal(attempt.exitCode, 0, await dnsmasqLog());
    const lease = attempt.lease!;
    assert.equal(lease.address, '198.51.100.10');
    assert.equal(lease.options['subnet-mask'], '255.255.255.192');
    assert.equal(lease.options['host-name'], 'guest-a');
    assert.equal(lease.options['domain-name-servers'], '192.0.2.53');
    assert.equal(lease.options['routers'], '198.51.100.1');
    assert.equal(lease.options['dhcp-lease-time'], '86400');
    // Option 121: 198.51.100.128/26 via .2, then the default route via the gateway (RFC 3442).
    assert.equal(lease.options['rfc3442-classless-static-routes'], '26,198,51,100,128,198,51,100,2,0,198,51,100,1');
    assert.deepEqual(await guestAddresses('ta'), ['198.51.100.10/26']);
  });

  it('runs no command and changes nothing in the dhcp step when the same document is pushed again', async () => {
    const before = await dnsmasq();
    const step = await put(doc);
    timings.reapplyDhcpStep = step.duration_ms;
    assert.equal(step.commands, 0);
    assert.equal(step.changed, false);
    assert.equal((await dnsmasq())?.pid, before?.pid);
  });

  it('serves a changed allocation on renewal without restarting dnsmasq', async () => {
    const before = await dnsmasq();
    const changed = structuredClone(doc);
    network(changed, 'ge2').allocations[0]!.ip_addresses = { '198.51.100.11': true, 'fd00:a::10': true };
    changed.floating_ips = changed.floating_ips.map((f) => (f.fixed_ip === '198.51.100.10' ? { ...f, fixed_ip: '198.51.100.11' } : f));
    const step = await put(changed);
    timings.allocationChangeDhcpStep = step.duration_ms;
    assert.equal(step.changed, true);

    // dhclient again: it asks for its old address, is refused, and gets the new one.
    const attempt = await guestA.lease();
    timings.renewWithNewAddress = attempt.ms;
    assert.equal(attempt.exitCode, 0, await dnsmasqLog());
    assert.equal(attempt.lease?.address, '198.51.100.11');
    assert.deepEqual(await guestAddresses('ta'), ['198.51.100.11/26']);
    const after = await dnsmasq();
    assert.equal(after?.pid, before?.pid, 'dnsmasq was restarted');
    assert.equal(after?.restarts, before?.restarts);
    doc = changed;
  });

  it('gives no lease to an unknown MAC', async () => {
    const guestB = new DhcpClient(lab, 'tb');
    const attempt = await guestB.lease(1);
    assert.notEqual(attempt.exitCode, 0);
    assert.equal(await guestB.lastLease(), undefined);
    assert.deepEqual(await guestAddresses('tb'), []);
    assert.match(await dnsmasqLog(), new RegExp(`DHCPDISCOVER\\(eth3\\) ${LAB.guestMacs.tb} no address available`));
  });

  it('restarts a killed dnsmasq, which serves again', async () => {
    const before = (await dnsmasq())!;
    const killed = performance.now();
    signal(before.pid!, 'SIGKILL');
    await waitFor('the agent to restart dnsmasq', async () => {
      const now = await dnsmasq();
      return Boolean(now?.running && now.pid !== before.pid);
    });
    timings.restartAfterKill = Math.round(performance.now() - killed);
    const after = (await dnsmasq())!;
    assert.equal(after.restarts, before.restarts + 1);
    assert.ok(!alive(before.pid!));

    const attempt = await guestA.lease();
    assert.equal(attempt.exitCode, 0, await dnsmasqLog());
    assert.equal(attempt.lease?.address, '198.51.100.11');
    // Still the agent's copy, and a re-push leaves it alone.
    const step = await put(doc);
    assert.equal(step.changed, false);
    assert.equal((await dnsmasq())?.pid, after.pid);
  });

  it('refuses an allocation whose hostname dnsmasq would read as something else, and keeps serving as before', async () => {
    // In a hosts-file line dnsmasq takes `ignore` as "never answer this
    // host", `infinite`, `5m` or `300` as a lease time, and the first label
    // of a dotted quad or of `10.example` (the name it is given) as one too.
    // Whichever layer refuses (the contract with 422, or the renderer with a
    // 500 before anything is touched), nothing may change.
    const before = (await dnsmasq())!;
    const hostsFile = join(agent.stateDir, 'dnsmasq', 'hosts');
    const hosts = await readFile(hostsFile, 'utf8');
    const generationBefore = await generation();
    for (const hostname of ['ignore', 'infinite', '5m', '300', '192.0.2.7', '10.example']) {
      const bad = structuredClone(doc);
      network(bad, 'ge2').allocations[0]!.hostname = hostname;
      const answer = await agent.request('PUT', '/v1/system/config', { body: bad });
      assert.ok(answer.status >= 400 && answer.status < 600, `${hostname}: ${answer.status} ${answer.body}`);
      assert.match(answer.body, /allocations\/0\/hostname/, hostname);
    }
    assert.equal(await readFile(hostsFile, 'utf8'), hosts);
    assert.equal(await generation(), generationBefore);
    const after = (await dnsmasq())!;
    assert.equal(after.pid, before.pid);
    assert.equal(after.restarts, before.restarts);

    const attempt = await guestA.lease();
    assert.equal(attempt.exitCode, 0, await dnsmasqLog());
    assert.equal(attempt.lease?.address, '198.51.100.11');
    assert.equal(attempt.lease?.options['host-name'], 'guest-a');
    assert.equal(attempt.lease?.options['dhcp-lease-time'], '86400');
  });

  it('keeps trying a dnsmasq that fails for good, shows it down, and it serves again by itself once the cause is gone', async () => {
    // The cause, real and reversible: dnsmasq opens its lease file when it
    // starts and exits (code 3, "cannot open or create lease file") when it
    // cannot, as on a damaged state file system; here a directory stands at
    // that path. The running dnsmasq keeps the file it has open, so only a
    // restart meets the cause: a push that changes the main config (tenant
    // B's DHCP off) restarts it, and fails; the undo's restart, on the
    // previous config, fails too.
    const before = (await dnsmasq())!;
    const generationBefore = await generation();
    const conf = join(agent.stateDir, 'dnsmasq', 'dnsmasq.conf');
    const confBefore = await readFile(conf, 'utf8');
    const leases = join(agent.stateDir, 'dnsmasq', 'leases');
    await rm(leases, { force: true });
    await mkdir(leases);
    try {
      const changed = structuredClone(doc);
      for (const subnet of network(changed, 'ge3').subnets) subnet.dhcp_enabled = false;
      const answer = await agent.request('PUT', '/v1/system/config', { body: changed });
      assert.equal(answer.status, 500, answer.body);
      assert.match(answer.body, /cannot open or create lease file/);
      await waitFor('the supervisor to try dnsmasq again, twice', async () => ((await dnsmasq())?.restarts ?? 0) >= before.restarts + 2, 30_000);
      const down = (await dnsmasq())!;
      assert.equal(down.running, false);
      assert.equal(down.pid, null);
      assert.match(down.last_error ?? '', /exit code 3.*cannot open or create lease file/);
      assert.ok(!alive(before.pid!));
      assert.equal(await readFile(conf, 'utf8'), confBefore, 'the previous configuration is back on disk');
    } finally {
      await rm(leases, { recursive: true, force: true });
    }

    const recovered = performance.now();
    await waitFor('dnsmasq to come back without a new push', async () => Boolean((await dnsmasq())?.running), 60_000);
    timings.recoveryAfterCauseGone = Math.round(performance.now() - recovered);
    assert.equal((await dnsmasq())?.last_error, null);
    assert.equal(await generation(), generationBefore);
    const attempt = await guestA.lease();
    assert.equal(attempt.exitCode, 0, await dnsmasqLog());
    assert.equal(attempt.lease?.address, '198.51.100.11');
  });

  it('stops dnsmasq when no tenant subnet has DHCP', async () => {
    const before = (await dnsmasq())!;
    const none = structuredClone(doc);
    for (const n of none.networks) for (const s of n.subnets) s.dhcp_enabled = false;
    const step = await put(none);
    assert.equal(step.changed, true);
    const after = (await dnsmasq())!;
    assert.equal(after.running, false);
    await waitFor('the old dnsmasq to be gone', () => !alive(before.pid!), 5000);
    await assert.rejects(readFile(join(agent.stateDir, 'dnsmasq', 'dnsmasq.conf')), { code: 'ENOENT' });
  });
});
