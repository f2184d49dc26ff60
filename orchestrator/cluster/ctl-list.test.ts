import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterText, workersText } from '../cli/ctl.js';
import { resourceTable } from '../cli/table.js';
import type { ResourceView } from '../core/control.js';

const view = (id: string, owner: string | null): ResourceView => ({
  id,
  driver: 'router',
  tenant_id: 't',
  state: 'CalcAction',
  instance_state: 'configured',
  action: 'poll',
  queue_length: 0,
  boot_attempts: 0,
  ha: { requested: false, pair: false },
  appliances: [],
  last_push: null,
  last_error: null,
  debug: { enabled: false, scope: null, reason: null },
  shard: 0,
  owner,
});

describe('astara-ctl list in a cluster', () => {
  it('adds an OWNER column only when resources have owners', () => {
    assert.match(resourceTable([view('r1', 'orch-2')], 0, { withDriver: true })[0]!, /OWNER/);
    assert.match(resourceTable([view('r1', 'orch-2')], 0, { withDriver: true })[1]!, /orch-2\s*$/);
    assert.doesNotMatch(resourceTable([view('r1', null)], 0, { withDriver: true })[0]!, /OWNER/);
  });

  it('names the members, and says when etcd is out of reach', () => {
    const cluster = { enabled: true, host: 'orch-1', members: ['orch-1', 'orch-2'], connected: true, problem: null, rebalances: 2 };
    assert.equal(clusterText(cluster), '\ncluster members (this one is orch-1): orch-1, orch-2\n');
    assert.match(clusterText({ ...cluster, connected: false, problem: 'no etcd endpoint answered' }), /etcd out of reach \(no etcd endpoint answered\): serving the resources above, taking no new ones/);
  });

  it('workers names the peers, as the original logged them', () => {
    const workers = { shards: [], global_debug: { enabled: false, scope: null, reason: null }, tenants_in_debug: [], resources_in_debug: [] };
    assert.match(workersText({ ...workers, cluster: { enabled: true, host: 'orch-1', members: ['orch-1', 'orch-2'], connected: true, problem: null, rebalances: 1 } }), /Peer astara-orchestrator hosts: orch-1, orch-2\n$/);
    assert.match(workersText(workers), /No peer astara-orchestrator hosts, coordination disabled\.\n$/);
  });
});
