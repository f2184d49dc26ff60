import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { validateDocument, type ConfigModel } from '../../../contract/index.js';
import type { FirewallContribution, RenderHost } from '../../engine/subsystem.js';
import { metadataProxyState } from '../../metadata-proxy/state.js';
import { dhcpFirewall } from '../dhcp/firewall.js';
import { haFirewall } from '../ha/firewall.js';
import { metadataFirewall } from '../metadata/firewall.js';
import { routingFirewall } from '../routing/firewall.js';
import { planRouting } from '../routing/render.js';
import { vpnFirewall } from '../vpn/firewall.js';
import { renderVpn } from '../vpn/render.js';
import { renderFirewall, restoreDocument, type FirewallRules } from './render.js';

type Doc = Record<string, unknown> & { networks: NetDoc[]; floating_ips: { floating_ip: string; fixed_ip: string }[] };
type NetDoc = Record<string, unknown> & { network_type: string; interface: { ifname: string; addresses: string[] } };

const LAB_DOC = JSON.parse(readFileSync(new URL('../../../test/fixtures/documents/harness-router.json', import.meta.url), 'utf8')) as Doc;
/** The lab's real names: geN is ethN. */
const HOST = { realName: (generic: string) => generic.replace('ge', 'eth') };
const OPTIONS = { apiPort: 5000 };

function modelOf(doc: Doc): ConfigModel {
  const result = validateDocument(doc);
  assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
  return result.model;
}

/** What the other subsystems contribute for a model, as the engine gathers it from their `firewall()`. */
function contributionsOf(model: ConfigModel, host: RenderHost): FirewallContribution[] {
  return [
    { subsystem: 'dhcp', rules: dhcpFirewall(model, host) },
    { subsystem: 'routing', rules: routingFirewall(planRouting(model, host), model, host) },
    { subsystem: 'metadata-proxy', rules: metadataFirewall(metadataProxyState(model), host) },
    { subsystem: 'vpn', rules: vpnFirewall(renderVpn(model)) },
    { subsystem: 'ha', rules: haFirewall(model.ha) },
  ];
}

/** The firewall of a document with every contribution, as the agent renders it. */
function render(doc: Doc, host: RenderHost = HOST, options = OPTIONS): FirewallRules {
  const model = modelOf(doc);
  return renderFirewall(model, { realName: (g) => host.realName(g), contributions: contributionsOf(model, host) }, options);
}

/** The firewall of a document with only the given contributions. */
function renderWith(doc: Doc, contributions: FirewallContribution[]): FirewallRules {
  return renderFirewall(modelOf(doc), { ...HOST, contributions }, OPTIONS);
}

function text(rules: FirewallRules, family: 4 | 6, checksumFill = true): string {
  return restoreDocument(family === 4 ? rules.v4 : rules.v6, { checksumFill });
}

function rulesOf(document: string): string[] {
  return document.split('\n').filter((l) => l.startsWith('-A '));
}

/** The lab document with its floating IPs pinned, so these tests do not follow fixture edits. */
function labDoc(): Doc {
  const doc = structuredClone(LAB_DOC);
  doc.floating_ips = [{ floating_ip: '203.0.113.10', fixed_ip: '198.51.100.10' }];
  return doc;
}

describe('renderFirewall', () => {
  it('renders the lab document as complete IPv4 and IPv6 restore documents', () => {
    const rules = render(labDoc());
    assert.equal(
      text(rules, 4),
      `# astara firewall, IPv4: rendered by the agent, replaced whole on every change
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:astara-input - [0:0]
:astara-mgmt - [0:0]
:astara-external - [0:0]
:astara-internal - [0:0]
:astara-forward - [0:0]
-A INPUT -j astara-input
-A FORWARD -j astara-forward
-A astara-input -i lo -j ACCEPT
-A astara-input -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A astara-input -i eth0 -j astara-mgmt
-A astara-input -i eth1 -j astara-external
-A astara-input -i eth2 -j astara-internal
-A astara-input -i eth3 -j astara-internal
-A astara-mgmt -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A astara-mgmt -p tcp -m tcp --dport 22 -j ACCEPT
-A astara-mgmt -p tcp -m tcp --dport 5000 -j ACCEPT
-A astara-mgmt -p tcp -m tcp --dport 9697 -j ACCEPT
-A astara-external -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A astara-internal -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A astara-internal -i eth2 -p udp -m udp --dport 67 -j ACCEPT
-A astara-internal -i eth3 -p udp -m udp --dport 67 -j ACCEPT
-A astara-internal -d 198.51.100.1/32 -i eth2 -p tcp -m tcp --dport 9602 -j ACCEPT
-A astara-internal -d 198.51.100.65/32 -i eth3 -p tcp -m tcp --dport 9603 -j ACCEPT
-A astara-forward -i eth0 -j DROP
-A astara-forward -o eth0 -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:astara-prerouting - [0:0]
:astara-postrouting - [0:0]
-A PREROUTING -j astara-prerouting
-A POSTROUTING -j astara-postrouting
-A astara-prerouting -i eth2 -j MARK --set-xmark 0x10000/0x10000
-A astara-prerouting -i eth3 -j MARK --set-xmark 0x10000/0x10000
-A astara-prerouting -d 169.254.169.254/32 -i eth2 -p tcp -m tcp --dport 80 -j DNAT --to-destination 198.51.100.1:9602
-A astara-prerouting -d 169.254.169.254/32 -i eth3 -p tcp -m tcp --dport 80 -j DNAT --to-destination 198.51.100.65:9603
-A astara-postrouting -m mark ! --mark 0x10000/0x10000 -j RETURN
-A astara-postrouting -o eth1 -j SNAT --to-source 192.0.2.2
-A astara-postrouting ! -o eth1 -m conntrack --ctstate DNAT -j SNAT --to-source 192.0.2.2
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:astara-exempt - [0:0]
:astara-checksum - [0:0]
-A POSTROUTING -j astara-exempt
-A POSTROUTING -j astara-checksum
-A astara-checksum -o eth2 -p udp -m udp --sport 67 -j CHECKSUM --checksum-fill
-A astara-checksum -o eth3 -p udp -m udp --sport 67 -j CHECKSUM --checksum-fill
COMMIT
`,
    );
    assert.equal(
      text(rules, 6),
      `# astara firewall, IPv6: rendered by the agent, replaced whole on every change
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:astara-input - [0:0]
:astara-mgmt - [0:0]
:astara-external - [0:0]
:astara-internal - [0:0]
:astara-forward - [0:0]
-A INPUT -j astara-input
-A FORWARD -j astara-forward
-A astara-input -i lo -j ACCEPT
-A astara-input -d fdca:3ba5:a17a:acda::2/128 ! -i eth0 -j DROP
-A astara-input -p ipv6-icmp -j ACCEPT
-A astara-input -i eth0 -j astara-mgmt
-A astara-input -i eth1 -j astara-external
-A astara-input -i eth2 -j astara-internal
-A astara-input -i eth3 -j astara-internal
-A astara-mgmt -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A astara-mgmt -p tcp -m tcp --dport 22 -j ACCEPT
-A astara-mgmt -p tcp -m tcp --dport 5000 -j ACCEPT
-A astara-mgmt -p tcp -m tcp --dport 9697 -j ACCEPT
-A astara-external -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A astara-external -s 2001:db8:e::1/128 -i eth1 -p tcp -m tcp --dport 179 -j ACCEPT
-A astara-internal -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A astara-internal -i eth2 -p udp -m udp --dport 547 -j ACCEPT
-A astara-internal -i eth3 -p udp -m udp --dport 547 -j ACCEPT
-A astara-forward -i eth0 -j DROP
-A astara-forward -o eth0 -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:astara-prerouting - [0:0]
:astara-postrouting - [0:0]
-A PREROUTING -j astara-prerouting
-A POSTROUTING -j astara-postrouting
-A astara-prerouting -i eth2 -j MARK --set-xmark 0x10000/0x10000
-A astara-prerouting -i eth3 -j MARK --set-xmark 0x10000/0x10000
-A astara-postrouting -m mark ! --mark 0x10000/0x10000 -j RETURN
-A astara-postrouting ! -o eth1 -m conntrack --ctstate DNAT -j SNAT --to-source 2001:db8:e::2
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:astara-exempt - [0:0]
-A POSTROUTING -j astara-exempt
COMMIT
`,
    );
  });

  it('accepts on tenant interfaces only replies and what other subsystems contribute; the rest is dropped', () => {
    const doc = labDoc();
    for (const family of [4, 6] as const) {
      const document = text(renderWith(doc, []), family);
      assert.deepEqual(
        rulesOf(document).filter((r) => r.startsWith('-A astara-internal ')),
        ['-A astara-internal -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT'],
      );
      assert.match(document, /^:INPUT DROP \[0:0\]$/m);
    }
  });

  it('puts each hook\'s contributed rules in its chain, after the firewall\'s own and in contribution order', () => {
    const contributions: FirewallContribution[] = [
      {
        subsystem: 'one',
        rules: [
          { family: 4, hook: 'tenant-input', rule: '-i eth2 -p tcp -m tcp --dport 1001 -j ACCEPT' },
          { family: 6, hook: 'management-input', rule: '-p udp -m udp --dport 1002 -j ACCEPT' },
          { family: 4, hook: 'external-input', rule: '-p udp -m udp --dport 1003 -j ACCEPT' },
        ],
      },
      {
        subsystem: 'two',
        rules: [
          { family: 4, hook: 'tenant-input', rule: '-i eth3 -p tcp -m tcp --dport 1004 -j ACCEPT' },
          { family: 4, hook: 'nat-prerouting', rule: '-d 192.0.2.99/32 -i eth2 -p tcp -m tcp --dport 80 -j DNAT --to-destination 198.51.100.1:8080' },
          { family: 4, hook: 'nat-postrouting-exempt', rule: '-d 203.0.113.0/24 -j RETURN' },
        ],
      },
    ];
    const rules = renderWith(labDoc(), contributions);
    const v4 = rulesOf(text(rules, 4));
    const chain = (name: string, family = v4) => family.filter((r) => r.startsWith(`-A ${name} `));
    assert.deepEqual(chain('astara-internal'), [
      '-A astara-internal -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A astara-internal -i eth2 -p tcp -m tcp --dport 1001 -j ACCEPT',
      '-A astara-internal -i eth3 -p tcp -m tcp --dport 1004 -j ACCEPT',
    ]);
    assert.deepEqual(chain('astara-external'), [
      '-A astara-external -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A astara-external -p udp -m udp --dport 1003 -j ACCEPT',
    ]);
    assert.ok(!chain('astara-mgmt').some((r) => r.includes('1002')), 'an IPv6 rule stays out of IPv4');
    assert.equal(chain('astara-mgmt', rulesOf(text(rules, 6))).at(-1), '-A astara-mgmt -p udp -m udp --dport 1002 -j ACCEPT');
    // Service DNAT after the tenant mark (the floating IPs' DNAT is in nft, at a later priority); exemptions before
    // anything is NATed here, and as a mark in mangle for the floating IPs' SNAT.
    assert.deepEqual(chain('astara-prerouting').slice(2), [
      '-A astara-prerouting -d 192.0.2.99/32 -i eth2 -p tcp -m tcp --dport 80 -j DNAT --to-destination 198.51.100.1:8080',
    ]);
    assert.equal(chain('astara-postrouting')[0], '-A astara-postrouting -d 203.0.113.0/24 -j RETURN');
    assert.deepEqual(chain('astara-exempt'), ['-A astara-exempt -d 203.0.113.0/24 -j MARK --set-xmark 0x20000/0x20000']);
  });

  it('renders the IPv6 nat table for a service\'s IPv6 DNAT even without IPv6 floating IPs', () => {
    const dnat = '-d fd00:a::53/128 -i eth2 -p udp -m udp --dport 53 -j DNAT --to-destination [fd00:a::1]:5353';
    const rules = rulesOf(text(renderWith(labDoc(), [{ subsystem: 'dns', rules: [{ family: 6, hook: 'nat-prerouting', rule: dnat }] }]), 6));
    assert.ok(rules.includes(`-A astara-prerouting ${dnat}`));
    assert.ok(rules.includes('-A astara-prerouting -i eth2 -j MARK --set-xmark 0x10000/0x10000'));
    assert.ok(!rules.includes('-A astara-postrouting -o eth1 -j SNAT --to-source 2001:db8:e::2'), 'IPv6 is still routed, not source-NATed');
  });

  it('refuses a contributed rule that is not one line of matches and a target, naming the subsystem', () => {
    for (const rule of ['-p tcp -j ACCEPT\n-A astara-input -j ACCEPT', 'ACCEPT', '-p tcp -j ACCEPT\r']) {
      assert.throws(
        () => renderWith(labDoc(), [{ subsystem: 'sneaky', rules: [{ family: 4, hook: 'tenant-input', rule }] }]),
        /the sneaky subsystem contributed a firewall rule that is not one rule's matches and target/,
      );
    }
  });

  it('keeps every rule of the agent in astara- chains; built-in chains only jump there', () => {
    const rules = render(labDoc());
    for (const family of [4, 6] as const) {
      const document = text(rules, family);
      for (const line of document.split('\n').filter((l) => l.startsWith(':'))) {
        const [chain, policy] = line.slice(1).split(' ');
        assert.ok(chain!.startsWith('astara-') || policy !== '-', `user chain ${chain} lacks the astara- prefix`);
      }
      for (const rule of rulesOf(document)) {
        const chain = rule.split(' ')[1]!;
        if (!chain.startsWith('astara-')) assert.match(rule, /^-A [A-Z]+ -j astara-[a-z-]+$/);
      }
    }
  });

  it('uses the real interface names', () => {
    const real: Record<string, string> = { ge0: 'ens3', ge1: 'ens4', ge2: 'ens10', ge3: 'enp0s9' };
    const document = text(render(labDoc(), { realName: (g) => real[g]! }), 4);
    assert.ok(rulesOf(document).includes('-A astara-input -i ens10 -j astara-internal'));
    assert.ok(rulesOf(document).includes('-A astara-postrouting -o ens4 -j SNAT --to-source 192.0.2.2'));
    assert.ok(rulesOf(document).includes('-A astara-prerouting -d 169.254.169.254/32 -i enp0s9 -p tcp -m tcp --dport 80 -j DNAT --to-destination 198.51.100.65:9603'));
    assert.ok(rulesOf(document).includes('-A astara-internal -d 198.51.100.65/32 -i enp0s9 -p tcp -m tcp --dport 9603 -j ACCEPT'));
    assert.doesNotMatch(document, /\beth\d/);
  });

  it('makes the management IPv4 addresses unreachable from other interfaces, before ICMP is accepted', () => {
    const doc = labDoc();
    doc.networks[0]!.interface.addresses.push('198.51.100.241/28');
    (doc.networks[0]!.subnets as unknown[]).push({ id: 'mgmt-v4', cidr: '198.51.100.240/28', gateway_ip: '', dhcp_enabled: false, dns_nameservers: [], host_routes: [] });
    const rules = rulesOf(text(render(doc), 4));
    const drop = rules.indexOf('-A astara-input -d 198.51.100.241/32 ! -i eth0 -j DROP');
    assert.ok(drop > 0);
    assert.ok(drop < rules.indexOf('-A astara-input -p icmp -m icmp --icmp-type 8 -j ACCEPT'));
    assert.ok(rules.indexOf('-A astara-input -i lo -j ACCEPT') < drop);
  });

  it('opens the agent API port it is started with', () => {
    const rules = rulesOf(text(render(labDoc(), HOST, { apiPort: 5443 }), 6));
    assert.ok(rules.includes('-A astara-mgmt -p tcp -m tcp --dport 5443 -j ACCEPT'));
    assert.ok(!rules.includes('-A astara-mgmt -p tcp -m tcp --dport 5000 -j ACCEPT'));
  });

  it('accepts IKE, NAT-T, ESP and AH on the external interface and exempts IPsec traffic from NAT when a VPN is configured', () => {
    const plain = render(labDoc());
    const doc = labDoc();
    doc.vpn = (JSON.parse(readFileSync(new URL('../../../test/fixtures/documents/router-notes-8.1-vpn.json', import.meta.url), 'utf8')) as Doc).vpn;
    const vpn = render(doc);
    const ipsec = [
      '-A astara-external -p udp -m udp --dport 500 -j ACCEPT',
      '-A astara-external -p udp -m udp --dport 4500 -j ACCEPT',
      '-A astara-external -p esp -j ACCEPT',
      '-A astara-external -p ah -j ACCEPT',
    ];
    for (const family of [4, 6] as const) {
      const added = rulesOf(text(vpn, family)).filter((r) => !rulesOf(text(plain, family)).includes(r));
      // The exemption twice: in nat (no router-address SNAT) and as the mark the floating IPs' SNAT (nft) returns on.
      const exempt = ['-A astara-postrouting -m policy --dir out --pol ipsec -j RETURN', '-A astara-exempt -m policy --dir out --pol ipsec -j MARK --set-xmark 0x20000/0x20000'];
      assert.deepEqual(added, [...ipsec, ...exempt]);
    }
  });

  it('lets HA peers speak VRRP and conntrackd sync on the management interface', () => {
    const doc = labDoc();
    doc.ha_resource = true;
    doc.ha_config = { peers: ['fdca:3ba5:a17a:acda::3'], priority: 50 };
    const rules = rulesOf(text(render(doc), 6));
    assert.ok(rules.includes('-A astara-mgmt -s fdca:3ba5:a17a:acda::3/128 -p vrrp -j ACCEPT'));
    assert.ok(rules.includes('-A astara-mgmt -s fdca:3ba5:a17a:acda::3/128 -p udp -m udp --dport 3780 -j ACCEPT'));
    assert.ok(!rulesOf(text(render(doc), 4)).some((r) => r.includes('vrrp')));
  });

  it('leaves CHECKSUM rules out when the kernel lacks the target, keeping the chain', () => {
    const document = text(render(labDoc()), 4, false);
    assert.doesNotMatch(document, /CHECKSUM/);
    assert.match(document, /^-A POSTROUTING -j astara-checksum$/m);
  });

  it('fills DHCP checksums only on tenant interfaces that serve DHCPv4', () => {
    const doc = labDoc();
    for (const subnet of doc.networks[3]!.subnets as { dhcp_enabled: boolean }[]) subnet.dhcp_enabled = false;
    const checksum = rulesOf(text(render(doc), 4)).filter((r) => r.includes('CHECKSUM'));
    assert.deepEqual(checksum, ['-A astara-checksum -o eth2 -p udp -m udp --sport 67 -j CHECKSUM --checksum-fill']);
  });

  it('renders the floating IPs of both families into the nftables table only: the restore documents do not change with them', () => {
    const doc = labDoc();
    doc.floating_ips.push({ floating_ip: '2001:db8:e::10', fixed_ip: 'fd00:a::10' });
    const rules = render(doc);
    assert.deepEqual(rules.fip.pairs, [
      { family: 4, floating: '203.0.113.10', fixed: '198.51.100.10' },
      { family: 6, floating: '2001:db8:e::10', fixed: 'fd00:a::10' },
    ]);
    assert.deepEqual([rules.fip.managementIf, rules.fip.externalIf, rules.fip.tenantMark, rules.fip.exemptMark], ['eth0', 'eth1', '0x10000/0x10000', '0x20000/0x20000']);
    const none = render({ ...doc, floating_ips: [] });
    assert.equal(text(rules, 4), text(none, 4));
    assert.equal(text(rules, 6), text(none, 6));
    assert.ok(!rulesOf(text(rules, 6)).includes('-A astara-postrouting -o eth1 -j SNAT --to-source 2001:db8:e::2'), 'no default IPv6 SNAT');
  });

  it('refuses a NAT exemption that does not end in RETURN (it is also rendered as a mark)', () => {
    assert.throws(
      () => renderWith(labDoc(), [{ subsystem: 'odd', rules: [{ family: 4, hook: 'nat-postrouting-exempt', rule: '-d 203.0.113.0/24 -j ACCEPT' }] }]),
      /the odd subsystem contributed a NAT exemption that does not end in -j RETURN/,
    );
  });

  it('drops a removed floating IP from both directions', () => {
    const doc = labDoc();
    doc.floating_ips = [];
    const rules = render(doc);
    assert.deepEqual(rules.fip.pairs, []);
    assert.ok(rulesOf(text(rules, 4)).includes('-A astara-postrouting -o eth1 -j SNAT --to-source 192.0.2.2'));
  });

  it('without an external network: no source NAT, no floating IPs, external input never mentioned', () => {
    const doc = labDoc();
    doc.networks = doc.networks.filter((n) => n.network_type !== 'external');
    doc.floating_ips = [];
    doc.default_v4_gateway = '';
    doc.static_routes = [];
    const document = text(render(doc), 4);
    assert.doesNotMatch(document, /SNAT|astara-input -i eth1/);
    assert.match(document, /--to-destination 198\.51\.100\.1:9602/);
    assert.equal(render(doc).fip.externalIf, undefined);
  });

  it('treats isolated and load-balancer networks as tenant-facing for input; only tenant networks are NATed', () => {
    const doc = labDoc();
    doc.networks[2]!.network_type = 'isolated';
    doc.networks[3]!.network_type = 'loadbalancer';
    doc.floating_ips = [];
    doc.static_routes = [];
    const rules = rulesOf(text(render(doc), 4));
    assert.ok(rules.includes('-A astara-input -i eth2 -j astara-internal'));
    assert.ok(rules.includes('-A astara-input -i eth3 -j astara-internal'));
    assert.ok(rules.includes('-A astara-prerouting -i eth2 -j MARK --set-xmark 0x10000/0x10000'));
    assert.ok(!rules.some((r) => r.includes('-i eth3 -j MARK') || r.includes('9603')));
  });
});
