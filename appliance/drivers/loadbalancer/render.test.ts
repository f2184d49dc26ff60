// The load balancer's plan and nginx.conf, from the notes' document (an HTTP
// listener with a monitored round-robin pool, a TCP listener with SOURCE_IP
// persistence) edited one decision at a time.
/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { validateDocument, type ConfigModel } from '../../../contract/index.js';
import { nginxSettings } from './driver.js';
import { heldDown, nginxConfig, planLoadBalancer, renderLoadBalancer, type LoadBalancerPlan } from './render.js';

const NOTES = readFileSync(new URL('../../../test/fixtures/documents/loadbalancer-notes-8.2.json', import.meta.url), 'utf8');
const SETTINGS = nginxSettings('/var/lib/astara', 'nobody nogroup');
const HTTP_POOL = 'e7a9c1d3-5f7b-4c9e-8a3d-7f9b1d3f5b06';
const MEMBER_22 = `${HTTP_POOL}/1b3d5f7a-9c1e-4a3b-9d7f-1c3e5a7b9d09`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function model(edit: (lb: any, doc: any) => void = () => undefined): ConfigModel {
  const doc = JSON.parse(NOTES);
  edit(doc.services.loadbalancer, doc);
  const result = validateDocument(doc);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.model;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function plan(edit?: (lb: any, doc: any) => void): LoadBalancerPlan {
  return planLoadBalancer(model(edit).loadBalancer!);
}

function config(edit?: Parameters<typeof plan>[0], down: ReadonlySet<string> = new Set()): string {
  return nginxConfig(plan(edit), down, SETTINGS);
}

/** The lines of one block of the file (`upstream pool_0 {` ... `}`), without indentation. */
function block(text: string, opening: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === opening);
  assert.ok(start >= 0, `no block ${opening} in:\n${text}`);
  const end = lines.findIndex((l, i) => i > start && l.trim() === '}');
  return lines.slice(start + 1, end).map((l) => l.trim());
}

describe('nginx.conf of the notes load balancer', () => {
  it('is exactly this: HTTP through http, TCP through stream, members held down marked down', () => {
    assert.equal(
      config(undefined, new Set([MEMBER_22])),
      `# Written by the astara agent from the applied configuration; edits are overwritten.
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
user nobody nogroup;
worker_processes 1;
pid /var/lib/astara/nginx/nginx.pid;
error_log stderr notice;

events {
  worker_connections 4096;
}

http {
  server_tokens off;
  access_log off;
  log_format astara_count '';
  client_body_temp_path /var/lib/astara/nginx/client_body_temp;
  proxy_temp_path /var/lib/astara/nginx/proxy_temp;
  fastcgi_temp_path /var/lib/astara/nginx/fastcgi_temp;
  uwsgi_temp_path /var/lib/astara/nginx/uwsgi_temp;
  scgi_temp_path /var/lib/astara/nginx/scgi_temp;
  client_max_body_size 0;
  proxy_request_buffering off;
  proxy_buffering off;
  proxy_http_version 1.1;
  proxy_set_header Host $http_host;
  proxy_set_header Upgrade $http_upgrade;
  proxy_set_header Connection $astara_upstream_connection;
  map $http_upgrade $astara_upstream_connection {
    default upgrade;
    '' '';
  }
  proxy_connect_timeout 5s;
  proxy_next_upstream error timeout;

  server {
    listen 198.51.100.10:80;
    access_log /var/lib/astara/nginx/requests-80.log astara_count buffer=64k flush=1s;
    location / {
      proxy_pass http://pool_0;
    }
  }

  upstream pool_0 {
    server 198.51.100.21:8080 weight=1;
    server 198.51.100.22:8080 weight=2 down;
    server 198.51.100.23:8080 weight=1 down;
    keepalive 256;
    keepalive_timeout 4s;
  }
}

stream {

  server {
    listen 198.51.100.10:5432;
    proxy_pass pool_1;
    proxy_connect_timeout 5s;
  }

  upstream pool_1 {
    hash $remote_addr consistent;
    server 198.51.100.31:5432 weight=1;
  }
}
`,
    );
  });

  it('maps the algorithms: round robin is the default, least_conn, and SOURCE_IP (or its persistence) as a consistent hash', () => {
    assert.deepEqual(block(config(), 'upstream pool_0 {').slice(0, 1), ['server 198.51.100.21:8080 weight=1;']);
    const leastConnections = config((lb) => {
      lb.listeners[0].default_pool.lb_algorithm = 'LEAST_CONNECTIONS';
      lb.listeners[1].default_pool.session_persistence = null;
    });
    assert.equal(block(leastConnections, 'upstream pool_0 {')[0], 'least_conn;');
    assert.equal(block(leastConnections, 'upstream pool_1 {')[0], 'least_conn;');
    assert.equal(block(config((lb) => (lb.listeners[0].default_pool.lb_algorithm = 'SOURCE_IP')), 'upstream pool_0 {')[0], 'hash $remote_addr consistent;');
    // Persistence wins over the algorithm (the TCP pool is LEAST_CONNECTIONS with SOURCE_IP persistence).
    assert.deepEqual(block(config(), 'upstream pool_1 {'), ['hash $remote_addr consistent;', 'server 198.51.100.31:5432 weight=1;']);
  });

  it('drains a weight 0 member as down (nginx has no weight 0) and keeps a disabled member down in place', () => {
    const text = config((lb) => (lb.listeners[0].default_pool.members[1].weight = 0));
    assert.deepEqual(block(text, 'upstream pool_0 {'), [
      'server 198.51.100.21:8080 weight=1;',
      'server 198.51.100.22:8080 weight=1 down;',
      'server 198.51.100.23:8080 weight=1 down;',
      'keepalive 256;',
      'keepalive_timeout 4s;',
    ]);
  });

  it('answers 503 on an HTTP listener and closes a TCP one when no member takes new connections', () => {
    const allDown = config(undefined, new Set([`${HTTP_POOL}/0a2c4e6f-8b0d-4f2a-8c6e-0b2d4f6a8c08`, MEMBER_22]));
    assert.deepEqual(block(allDown, 'server {').slice(-1), ['return 503;']);
    assert.doesNotMatch(allDown, /pool_0/);
    const disabledPools = config((lb) => {
      lb.listeners[0].default_pool.admin_state_up = false;
      lb.listeners[1].default_pool.admin_state_up = false;
    });
    assert.match(disabledPools, /^ {4}return 503;$/m);
    assert.match(disabledPools, /^ {4}listen 198\.51\.100\.10:5432;\n {4}return "";$/m);
    assert.doesNotMatch(disabledPools, /^ *upstream /m);
    const noPool = config((lb) => (lb.listeners[1].default_pool = null));
    assert.match(noPool, /^ {4}listen 198\.51\.100\.10:5432;\n {4}return "";$/m);
  });

  it('leaves out a disabled listener; a disabled load balancer keeps nginx with no listener and no stream module', () => {
    const tcpOff = config((lb) => (lb.listeners[1].admin_state_up = false));
    assert.doesNotMatch(tcpOff, /^stream \{|load_module|5432/m);
    assert.match(tcpOff, /listen 198\.51\.100\.10:80;/);
    const off = config((lb) => (lb.admin_state_up = false));
    assert.doesNotMatch(off, /listen|^http \{|^stream \{|load_module/m);
    assert.match(off, /^events \{$/m);
  });

  it('listens on the VIP only, IPv6 addresses in brackets', () => {
    const text = config((lb, doc) => {
      doc.networks[0].interface.addresses.push('2001:db8:1b::10/64');
      doc.networks[0].subnets.push({ cidr: '2001:db8:1b::/64', gateway_ip: '2001:db8:1b::1', dhcp_enabled: false, dns_nameservers: [], host_routes: [] });
      lb.vip_address = '2001:db8:1b::10';
      lb.listeners[0].default_pool.members[0].address = '2001:db8:1b::21';
    });
    assert.deepEqual(
      text.split('\n').filter((l) => l.includes('listen')),
      ['    listen [2001:db8:1b::10]:80;', '    listen [2001:db8:1b::10]:5432;'],
    );
    assert.match(text, /^ {4}server \[2001:db8:1b::21\]:8080 weight=1;$/m);
  });

  it('writes no name or id of the document, only addresses, ports and weights', () => {
    const text = config((lb) => {
      lb.name = 'lbNameToken';
      lb.id = 'lbIdToken';
      lb.listeners.forEach((l: { name: string; id: string; default_pool: { name: string; id: string; members: { id: string }[] } }, i: number) => {
        l.name = `listenerNameToken${i}`;
        l.id = `listenerIdToken${i}`;
        l.default_pool.name = `poolNameToken${i}`;
        l.default_pool.id = `poolIdToken${i}`;
        l.default_pool.members.forEach((m, j) => (m.id = `memberIdToken${i}x${j}`));
      });
    });
    assert.doesNotMatch(text, /Token/);
  });

  it('is the same text for the same plan and down set (a pure function of both)', () => {
    assert.equal(config(undefined, new Set([MEMBER_22])), config(undefined, new Set([MEMBER_22])));
    assert.notEqual(config(), config(undefined, new Set([MEMBER_22])));
  });
});

describe('the plan', () => {
  it('has no load balancer, and no nginx, for a document without one', () => {
    const router = JSON.parse(readFileSync(new URL('../../../test/fixtures/documents/harness-router.json', import.meta.url), 'utf8')) as unknown;
    const result = validateDocument(router);
    assert.ok(result.ok);
    assert.deepEqual(renderLoadBalancer(result.model), { plan: undefined });
  });

  it('monitors the enabled members (drained ones too) of enabled pools and listeners whose monitor is enabled', () => {
    assert.deepEqual(
      plan().targets.map((t) => [t.key, t.address.text, t.port, t.monitor.type]),
      [
        [`${HTTP_POOL}/0a2c4e6f-8b0d-4f2a-8c6e-0b2d4f6a8c08`, '198.51.100.21', 8080, 'HTTP'],
        [MEMBER_22, '198.51.100.22', 8080, 'HTTP'],
        ['f8b0d2e4-6a8c-4d0f-9b4e-8a0c2e4a6c12/1d3f5a7b-9c1e-4f3b-9e7a-1d3f5b7c9e14', '198.51.100.31', 5432, 'TCP'],
      ],
    );
    assert.equal(plan((lb) => (lb.listeners[0].default_pool.members[1].weight = 0)).targets.length, 3);
    assert.equal(plan((lb) => (lb.listeners[0].default_pool.healthmonitor.admin_state_up = false)).targets.length, 1);
    assert.equal(plan((lb) => (lb.listeners[0].admin_state_up = false)).targets.length, 1);
    assert.equal(plan((lb) => (lb.listeners[0].default_pool.admin_state_up = false)).targets.length, 1);
    assert.equal(plan((lb) => (lb.admin_state_up = false)).targets.length, 0);
  });

  it('keys a member without an id by its position in the pool', () => {
    const keys = plan((lb) => {
      for (const m of lb.listeners[0].default_pool.members) delete m.id;
    }).targets.map((t) => t.key);
    assert.deepEqual(keys.slice(0, 2), [`${HTTP_POOL}/@0`, `${HTTP_POOL}/@1`]);
  });

  it('holds down the monitored members their monitor says are OFFLINE or ERROR, and no other', () => {
    const health = new Map([
      [MEMBER_22, { status: 'OFFLINE' }],
      [`${HTTP_POOL}/0a2c4e6f-8b0d-4f2a-8c6e-0b2d4f6a8c08`, { status: 'ONLINE' }],
      ['f8b0d2e4-6a8c-4d0f-9b4e-8a0c2e4a6c12/1d3f5a7b-9c1e-4f3b-9e7a-1d3f5b7c9e14', { status: 'ERROR' }],
      [`${HTTP_POOL}/not-a-member`, { status: 'OFFLINE' }],
    ]);
    assert.deepEqual([...heldDown(plan(), health)].sort(), [MEMBER_22, 'f8b0d2e4-6a8c-4d0f-9b4e-8a0c2e4a6c12/1d3f5a7b-9c1e-4f3b-9e7a-1d3f5b7c9e14']);
  });
});
