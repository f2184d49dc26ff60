// Site-to-site IPsec through the orchestrator, with the local provider: two
// routers of one resource file, on one external ("internet") network, each
// with its tenant network and a guest, and a VPN service on each with a
// connection to the other (router A in Neutron's peer_cidrs style, router B
// with endpoint groups). With `[router] ipsec_vpn` on, the orchestrator puts
// the VPNs into both documents; the guests then reach each other's private
// addresses, seen as themselves (no NAT). Disabling a connection in the file
// takes the tunnel down, enabling it brings it back, and removing the VPN
// lists takes it down for good. The PSK is in no log line or admin API answer.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../harness/exec.js';
import { OrchestratorLab, type ResourceState } from '../harness/orchestrator.js';
import { EXTERNAL, externalNetwork, resourceFile, routerSpec, tenantNetwork, type RouterSpec } from '../harness/resources.js';
import { seenAs, startEchoServer } from '../harness/servers.js';
import { vpnPolicies } from '../harness/vpn-lab.js';

const PSK = 'orch-vpn-psk-Tq4z8';
const external = externalNetwork();
const routerA: RouterSpec = routerSpec(1, '192.0.2.2');
const routerB: RouterSpec = { ...routerSpec(0, '192.0.2.3'), tenants: [tenantNetwork(1, 'guest-b')] };
const netA = routerA.tenants[0]!;
const netB = routerB.tenants[0]!;
const ids = {
  ike: randomUUID(),
  ipsec: randomUUID(),
  serviceA: randomUUID(),
  serviceB: randomUUID(),
  connectionA: randomUUID(),
  connectionB: randomUUID(),
  localB: randomUUID(),
  peerB: randomUUID(),
};

/** The resource file: both routers, and (unless `vpn` is false) the VPN between them; `enabledA` is connection A's admin_state_up. */
function resources(vpn = true, enabledA = true) {
  const base = resourceFile(external, [routerA, routerB]);
  if (!vpn) return base;
  const { ikepolicy, ipsecpolicy } = vpnPolicies({ psk: PSK });
  return {
    ...base,
    ikepolicies: [{ id: ids.ike, name: 'ike-v2', ...ikepolicy }],
    ipsecpolicies: [{ id: ids.ipsec, name: 'esp', ...ipsecpolicy }],
    vpnservices: [
      { id: ids.serviceA, name: 'vpn-a', tenant_id: routerA.tenantId, router_id: routerA.routerId, subnet_id: netA.subnetId },
      { id: ids.serviceB, name: 'vpn-b', tenant_id: routerB.tenantId, router_id: routerB.routerId, subnet_id: null },
    ],
    endpoint_groups: [
      { id: ids.localB, tenant_id: routerB.tenantId, type: 'subnet', endpoints: [netB.subnetId] },
      { id: ids.peerB, tenant_id: routerB.tenantId, type: 'cidr', endpoints: [netA.cidr] },
    ],
    ipsec_site_connections: [
      {
        id: ids.connectionA,
        tenant_id: routerA.tenantId,
        vpnservice_id: ids.serviceA,
        ikepolicy_id: ids.ike,
        ipsecpolicy_id: ids.ipsec,
        peer_address: routerB.externalAddress,
        peer_id: routerB.externalAddress,
        peer_cidrs: [netB.cidr],
        psk: PSK,
        admin_state_up: enabledA,
      },
      {
        id: ids.connectionB,
        tenant_id: routerB.tenantId,
        vpnservice_id: ids.serviceB,
        ikepolicy_id: ids.ike,
        ipsecpolicy_id: ids.ipsec,
        local_ep_group_id: ids.localB,
        peer_ep_group_id: ids.peerB,
        peer_address: routerA.externalAddress,
        psk: PSK,
      },
    ],
  };
}

interface VpnDocument {
  readonly vpn?: { readonly ipsec?: readonly { readonly id: string; readonly ipsec_connections: readonly { readonly id: string; readonly psk: string; readonly admin_state_up?: boolean }[] }[] };
}

const connectionsOf = (r: ResourceState) => ((r.last_document as VpnDocument | null)?.vpn?.ipsec ?? []).flatMap((s) => s.ipsec_connections);

describe('site-to-site IPsec VPN through the orchestrator', () => {
  let lab: OrchestratorLab;

  /** What guest B's echo server sees as the source of guest A's request; undefined when A does not reach B. */
  const fromAToB = () => seenAs(lab.topology, 'ga', `http://${netB.guestAddress}:8080/`, 1);
  const fromBToA = () => seenAs(lab.topology, 'gb', `http://${netA.guestAddress}:8080/`, 1);
  /** Wait until both routers run the document the last edit asked for. */
  const settled = (routerId: string, what: string, check: (r: ResourceState) => boolean) =>
    lab.waitForResource(routerId, what, (r) => r.instance_state === 'configured' && r.state === 'CalcAction' && r.queue_length === 0 && check(r));

  before(async () => {
    lab = await OrchestratorLab.create({ roles: ['ext', 'ga', 'gb'], ini: { router: { ipsec_vpn: true } }, resources: resources() });
    await lab.start();
    await lab.attach('ext', external.networkId, { addresses: [`${EXTERNAL.gateway}/24`] });
    for (const [role, net] of [['ga', netA], ['gb', netB]] as const) {
      await lab.attach(role, net.networkId, { mac: net.guestMac, addresses: [`${net.guestAddress}/26`] });
      await lab.topology.ip(role, ['route', 'add', 'default', 'via', net.gateway]);
      await startEchoServer(lab.topology, role, net.guestAddress);
    }
  });
  after(async () => {
    await lab?.destroy();
  });

  it("puts each router's VPN service into its document, the PSK redacted in the admin API", async () => {
    for (const [router, connection] of [[routerA, ids.connectionA], [routerB, ids.connectionB]] as const) {
      const view = await settled(router.routerId, 'the VPN to be pushed', (r) => connectionsOf(r).length === 1);
      assert.equal(view.last_push?.ok, true);
      const [pushed] = connectionsOf(view);
      assert.equal(pushed?.id, connection);
      assert.equal(pushed.psk, '<redacted>');
    }
  });

  it("guests reach each other's private addresses through the tunnel, each seen as itself", async () => {
    let seen: string | undefined;
    await waitFor('guest A to reach guest B through the tunnel', async () => (seen = await fromAToB()) !== undefined, 60_000);
    assert.equal(seen, netA.guestAddress, "B sees A's private address: the traffic was not translated");
    assert.equal(await fromBToA(), netB.guestAddress);
  });

  it('a connection disabled in the file takes the tunnel down, enabled again brings it back', async () => {
    await lab.writeResources(resources(true, false));
    await settled(routerA.routerId, 'connection A to be pushed disabled', (r) => connectionsOf(r)[0]?.admin_state_up === false);
    await waitFor('guest A to lose guest B', async () => (await fromAToB()) === undefined, 30_000);
    assert.equal(await fromBToA(), undefined, 'nor does B reach A');

    await lab.writeResources(resources());
    await settled(routerA.routerId, 'connection A to be pushed enabled', (r) => connectionsOf(r)[0]?.admin_state_up === true);
    await waitFor('the tunnel to come back', async () => (await fromAToB()) === netA.guestAddress, 60_000);
  });

  it('removing the VPN from the file takes the tunnel down', async () => {
    await lab.writeResources(resources(false));
    for (const router of [routerA, routerB]) {
      await settled(router.routerId, 'the VPN to be removed', (r) => (r.last_document as VpnDocument | null)?.vpn?.ipsec?.length === 0);
    }
    await waitFor('guest A to lose guest B', async () => (await fromAToB()) === undefined, 30_000);
  });

  it('shows the PSK in no log line and no admin API answer', async () => {
    assert.doesNotMatch(await lab.log(), new RegExp(PSK), 'the orchestrator log');
    // The documents of the run that held the PSK: put it back, and look at every answer.
    await lab.writeResources(resources());
    await settled(routerA.routerId, 'the VPN to be pushed again', (r) => connectionsOf(r).length === 1);
    for (const path of ['/v1/resources', `/v1/resources/${routerA.routerId}`, `/v1/resources/${routerB.routerId}`, '/v1/workers']) {
      const answer = await lab.api('GET', path);
      assert.equal(answer.status, 200, `${path}: ${answer.body}`);
      assert.doesNotMatch(answer.body, new RegExp(PSK), path);
    }
    assert.doesNotMatch(await lab.log(), new RegExp(PSK), 'the orchestrator log');
  });
});
