// Fairness: 20 routers of 5 tenants, one of whose appliances stops answering
// mid-way (its agent frozen with SIGSTOP, so every request to it hangs until
// its timeout). An edit that changes every router's document reaches the 19
// others while the frozen one is still being waited on: tenants are sharded,
// each shard runs several resources at once, and one slow appliance holds one
// runner, never a queue.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../harness/exec.js';
import { OrchestratorLab, type ResourceState } from '../harness/orchestrator.js';
import { externalNetwork, resourceFile, routerSpec, type RouterSpec } from '../harness/resources.js';
import { signal } from '../harness/topology.js';

const TENANTS = 5;
const PER_TENANT = 4;
const ALIVE_TIMEOUT_S = 5;

const external = externalNetwork();
const tenants = Array.from({ length: TENANTS }, (_, t) => `${t + 1}`.padStart(32, 'a'));
const routers: RouterSpec[] = tenants.flatMap((tenantId, t) => Array.from({ length: PER_TENANT }, (_, i) => routerSpec(0, `192.0.2.${10 + t * PER_TENANT + i}`, tenantId)));

function file(dns: string[]) {
  const base = resourceFile(external, routers);
  return { ...base, subnets: base.subnets.map((s) => (s.id === external.subnetId ? { ...s, dns_nameservers: dns } : s)) };
}

const dnsOf = (view: ResourceState): string[] => {
  const document = view.last_document as { networks?: { network_id: string; subnets: { dns_nameservers: string[] }[] }[] } | null;
  return document?.networks?.find((n) => n.network_id === external.networkId)?.subnets[0]?.dns_nameservers ?? [];
};

describe('fairness across tenants', () => {
  let lab: OrchestratorLab;

  before(async () => {
    lab = await OrchestratorLab.create({
      roles: [],
      resources: file([]),
      ini: { DEFAULT: { num_worker_processes: 2, num_worker_threads: 2, alive_timeout: ALIVE_TIMEOUT_S, config_timeout: 30 } },
    });
    await lab.start();
    for (const router of routers) await lab.waitConfigured(router.routerId, 180_000);
  });
  after(async () => {
    await lab?.destroy();
  });

  it("one tenant's frozen appliance does not hold the other tenants' updates", async () => {
    const slow = routers[0]!;
    const others = routers.filter((r) => r.tenantId !== slow.tenantId);
    const pid = await lab.agentPid(slow.routerId);
    signal(pid, 'SIGSTOP');
    const editedAt = Date.now();
    await lab.writeResources(file(['192.0.2.53']));
    // Every request to the frozen appliance hangs for alive_timeout, max_retries times:
    // the others must be done well before the frozen one is even given up on.
    const deadlineMs = ALIVE_TIMEOUT_S * 3 * 1000;
    await waitFor(
      "every other tenant's router to hold the edit",
      async () => {
        const views = await Promise.all(others.map((r) => lab.resource(r.routerId)));
        return views.every((v) => v !== undefined && v.instance_state === 'configured' && dnsOf(v).includes('192.0.2.53') && Date.parse(v.last_push!.at) >= editedAt);
      },
      deadlineMs,
    );
    const elapsed = Date.now() - editedAt;
    const frozen = (await lab.resource(slow.routerId))!;
    assert.ok(!(frozen.instance_state === 'configured' && dnsOf(frozen).includes('192.0.2.53')), 'the frozen appliance was still being waited on');
    assert.ok(elapsed < deadlineMs, `the others were done after ${elapsed} ms`);
    signal(pid, 'SIGCONT');
    // And the frozen one is dealt with in the end: replaced, with the edit.
    await lab.waitForResource(slow.routerId, 'the frozen router to recover', (r) => r.instance_state === 'configured' && dnsOf(r).includes('192.0.2.53'), 120_000);
  });
});
