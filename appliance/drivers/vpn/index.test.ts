import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { validateDocument, type ConfigModel, type Configuration, type IpsecConnectionDoc, type VpnServiceDoc } from '../../../contract/index.js';
import { strongswanConf, strongswanPaths } from './driver.js';
import { vpnFirewall } from './firewall.js';
import { proposal, renderVpn } from './render.js';
import { connectionStatuses, reasonFromLog } from './status.js';

function document(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../../test/fixtures/documents/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;
}

function model(doc: unknown): ConfigModel {
  const result = validateDocument(doc);
  assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
  return result.model;
}

/** The example VPN document, with its first service and connection to edit in place. */
function vpnDocument(): { doc: Configuration; service: VpnServiceDoc; connection: IpsecConnectionDoc } {
  const doc = document('router-notes-8.1-vpn.json') as Configuration;
  const service = doc.vpn?.ipsec?.[0];
  const connection = service?.ipsec_connections[0];
  assert.ok(service !== undefined && connection !== undefined, 'the example has a VPN connection');
  return { doc, service, connection };
}

describe('the vpn subsystem', () => {
  it('asks the firewall for IKE, NAT-T, ESP and AH on the external interface and NAT exemptions, in both families', () => {
    const rules = vpnFirewall(renderVpn(model(document('router-notes-8.1-vpn.json'))));
    assert.deepEqual(
      rules.filter((r) => r.family === 4).map((r) => `${r.hook} ${r.rule}`),
      [
        'external-input -p udp -m udp --dport 500 -j ACCEPT',
        'external-input -p udp -m udp --dport 4500 -j ACCEPT',
        'external-input -p esp -j ACCEPT',
        'external-input -p ah -j ACCEPT',
        'nat-postrouting-exempt -m policy --dir out --pol ipsec -j RETURN',
        'nat-postrouting-exempt -s 198.51.100.0/24 -d 203.0.113.128/25 -j RETURN',
      ],
    );
    assert.deepEqual(
      rules.filter((r) => r.family === 6).map((r) => `${r.hook} ${r.rule}`),
      [
        'external-input -p udp -m udp --dport 500 -j ACCEPT',
        'external-input -p udp -m udp --dport 4500 -j ACCEPT',
        'external-input -p esp -j ACCEPT',
        'external-input -p ah -j ACCEPT',
        'nat-postrouting-exempt -m policy --dir out --pol ipsec -j RETURN',
      ],
    );
  });

  it('asks for nothing and runs no charon without a VPN service', () => {
    const desired = renderVpn(model(document('router-notes-8.1.json')));
    assert.deepEqual(vpnFirewall(desired), []);
    assert.equal(desired.swanctl, undefined);
  });

  it('renders the connection as swanctl.conf: addresses, identities, proposals, lifetimes, DPD, start action and the PSK as a secret', () => {
    const conf = renderVpn(model(document('router-notes-8.1-vpn.json'))).swanctl!;
    for (const line of [
      '0f2e4d6c-8b1a-4c3e-9d5f-6a7b8c9d0e21 {',
      'version = 2',
      'local_addrs = 192.0.2.2',
      'remote_addrs = 203.0.113.20',
      'proposals = aes256-sha256-modp2048',
      'rekey_time = 3600s',
      'dpd_delay = 30s',
      'local_ts = 198.51.100.0/24',
      'remote_ts = 203.0.113.128/25',
      'esp_proposals = aes256-sha256-modp2048',
      'rekey_time = 3240s',
      'life_time = 3600s',
      'dpd_action = trap',
      'start_action = start',
      'keyingtries = 0',
      'secret = "doc-example-psk-0123456789"',
    ]) {
      assert.ok(conf.split('\n').some((l) => l.trim() === line), `missing ${line} in\n${conf}`);
    }
    assert.doesNotMatch(conf, /dpd_timeout/, 'IKEv2 has no dpd_timeout');
  });

  it('IKEv1, response-only, DPD timeout and restart, kilobyte lifetimes', () => {
    const { doc, connection: conn } = vpnDocument();
    conn.ikepolicy.ike_version = 'v1';
    conn.initiator = 'response-only';
    conn.dpd = { action: 'restart', interval: 5, timeout: 20 };
    conn.ipsecpolicy.lifetime = { units: 'kilobytes', value: 1000 };
    const desired = renderVpn(model(doc));
    const conf = desired.swanctl!;
    for (const line of ['version = 1', 'start_action = none', 'keyingtries = 1', 'dpd_delay = 5s', 'dpd_timeout = 20s', 'dpd_action = restart', 'life_bytes = 1024000', 'rekey_bytes = 921600']) {
      assert.ok(conf.split('\n').some((l) => l.trim() === line), `missing ${line} in\n${conf}`);
    }
    assert.equal(desired.dpdTimeout, 20);
    assert.match(strongswanConf(strongswanPaths('/var/lib/astara'), 'libipsec', desired.dpdTimeout), /retransmit_timeout = 4\n/);
  });

  it('admin_state_up false on the connection or the service takes it out, and charon with it', () => {
    const { doc, connection } = vpnDocument();
    connection.admin_state_up = false;
    const down = renderVpn(model(doc));
    assert.deepEqual(down.connections, []);
    assert.equal(down.swanctl, undefined);
    assert.equal(down.configured, true, 'a configured VPN keeps its firewall openings');
    const off = vpnDocument();
    off.service.admin_state_up = false;
    assert.deepEqual(renderVpn(model(off.doc)).connections, []);
  });

  it('translates the policies to strongSwan proposals (AEAD without integrity, the PRF in IKE)', () => {
    assert.equal(proposal('aes-128', 'sha1', 'group5', 'ike'), 'aes128-sha1-modp1536');
    assert.equal(proposal('aes-256-gcm-16', 'sha384', 'group20', 'ike'), 'aes256gcm16-prfsha384-ecp384');
    assert.equal(proposal('aes-256-gcm-16', 'sha384', 'group31', 'esp'), 'aes256gcm16-curve25519');
    assert.equal(proposal('3des', 'sha512', 'group14', 'esp'), '3des-sha512-modp2048');
  });

  it('loads kernel-libipsec before kernel-netlink where the kernel has no ESP, and only kernel-netlink where it has', () => {
    const paths = strongswanPaths('/var/lib/astara');
    assert.match(strongswanConf(paths, 'libipsec', undefined), /load = .* kernel-libipsec kernel-netlink /);
    assert.doesNotMatch(strongswanConf(paths, 'kernel', undefined), /libipsec/);
    assert.match(strongswanConf(paths, 'kernel', undefined), /socket = unix:\/\/\/var\/lib\/astara\/strongswan\/v$/m);
  });

  it('reads the SA states, counters and why a connection is down', () => {
    const plans = renderVpn(model(document('router-notes-8.1-vpn.json'))).connections;
    const name = plans[0]!.name;
    const listed = `list-sa event {${name} {uniqueid=2 version=2 state=ESTABLISHED local-host=192.0.2.2 established=10 child-sas {${name}-1 {name=${name} state=INSTALLED bytes-in=168 packets-in=2 bytes-out=336 packets-out=4 local-ts=[198.51.100.0/24] remote-ts=[203.0.113.128/25]}}}}\nlist-sas reply {}\n`;
    const [up] = connectionStatuses(plans, listed, '', Date.parse('2024-01-01T00:00:10Z'));
    assert.deepEqual(up, {
      id: plans[0]!.id, name, peer: '203.0.113.20', ike_state: 'ESTABLISHED', child_state: 'INSTALLED', up: true,
      established_at: '2024-01-01T00:00:00.000Z', bytes_in: 168, bytes_out: 336, packets_in: 2, packets_out: 4, reason: null,
    });
    const log = `12[IKE] <${name}|1> received AUTHENTICATION_FAILED notify error\n`;
    const [down] = connectionStatuses(plans, 'list-sas reply {}\n', log, 0);
    assert.equal(down!.up, false);
    assert.equal(down!.ike_state, 'DOWN');
    assert.equal(down!.reason, 'authentication failed (pre-shared key or identity mismatch)');
    assert.equal(reasonFromLog(`${log}09[IKE] <${name}|2> IKE_SA ${name}[2] established between\n`, name), null);
  });
});
