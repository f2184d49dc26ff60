import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONFIG_FILE, describeOptions, loadOptions, OPTION_DOCS, OptionsError, parseOptions } from './options.js';

const here = dirname(fileURLToPath(import.meta.url));
const repository = resolve(here, '..');

const LOCAL = '[local]\nresources = /srv/astara/resources.yaml\n';
const KEYSTONE = '[keystone_authtoken]\nauth_url = http://192.0.2.10:5000\nusername = astara\npassword = secret\nproject_name = service\n';

function problemsOf(text: string): readonly string[] {
  try {
    parseOptions(text, '/etc/astara/orchestrator.ini');
  } catch (error) {
    assert.ok(error instanceof OptionsError);
    return error.problems;
  }
  assert.fail('expected an OptionsError');
}

describe('parseOptions', () => {
  it('gives the documented defaults', () => {
    const { options, warnings } = parseOptions(LOCAL, '/etc/astara/orchestrator.ini');
    assert.deepEqual(warnings, []);
    assert.deepEqual(options, {
      configFile: '/etc/astara/orchestrator.ini',
      host: hostname(),
      networkProvider: 'local',
      computeProvider: 'local',
      logLevel: 'info',
      statePath: '/var/lib/astara',
      healthCheckPeriodS: 60,
      aliveTimeoutS: 3,
      configTimeoutS: 90,
      maxRetries: 3,
      retryDelayS: 1,
      rebootErrorThreshold: 5,
      errorStateCooldownS: 30,
      bootTimeoutS: 600,
      hotplugTimeoutS: 10,
      queueWarningThreshold: 100,
      numWorkerProcesses: 16,
      numWorkerThreads: 4,
      enabledDrivers: ['router'],
      apiListen: '::1',
      adminTokenFile: undefined,
      apiPort: 44250,
      astaraMetadataPort: 9697,
      managementNetworkId: 'a57a0000-0000-4000-8000-000000000000',
      managementPrefix: 'fdca:3ba5:a17a:acda::/64',
      asn: 64512,
      neighborAsn: 64512,
      providerRulesPath: '/etc/astara/provider_rules.json',
      router: { mgtServicePort: 5000, imageUuid: undefined, instanceFlavor: undefined, ipsecVpn: false },
      loadbalancer: { mgtServicePort: 5000, imageUuid: undefined, instanceFlavor: undefined },
      applianceTls: undefined,
      local: {
        resources: '/srv/astara/resources.yaml',
        managementAddress: 'fdca:3ba5:a17a:acda::1',
        agentCommand: [join(repository, 'bin', 'astara-appliance')],
        stopAppliancesOnExit: false,
        agentTls: undefined,
        appliancesPath: '/var/lib/astara/appliances',
      },
      hashPartitionExponent: 5,
      coordination: { enabled: false, endpoints: ['http://127.0.0.1:2379'], groupId: 'astara.orchestrator', heartbeatIntervalS: 1, leaseTtlS: 10 },
      openstack: {
        transportUrls: [],
        authRegion: undefined,
        endpointType: 'public',
        managementSubnetId: undefined,
        authUrl: '',
        username: '',
        password: '',
        projectName: '',
        userDomainName: 'Default',
        projectDomainName: 'Default',
      },
    });
  });

  it('reads every kind of value, with comments of both styles', () => {
    const { options, warnings } = parseOptions(
      [
        '# a comment',
        '; another',
        '[DEFAULT]',
        'host = orch-1 # an inline comment',
        'log_level = DEBUG ; another',
        'health_check_period = 2.5',
        'retry_delay = 0',
        'num_worker_processes = 2',
        'enabled_drivers = router , router',
        'api_listen = 127.0.0.1',
        'api_port = 8080',
        'management_prefix = fd00:5::/64',
        'asn = 4200000000',
        '[router]',
        'image_uuid = 0f1e2d3c-aaaa-bbbb-cccc-000000000001',
        '[local]',
        'resources = ../lab/resources.yaml',
        'agent_command = node  /opt/astara/bin/astara-appliance   --quiet',
        'stop_appliances_on_exit = Yes',
        '[coordination]',
        'enabled = no',
      ].join('\n'),
      '/etc/astara/orchestrator.ini',
    );
    assert.deepEqual(warnings, []);
    assert.equal(options.host, 'orch-1');
    assert.equal(options.logLevel, 'debug');
    assert.equal(options.healthCheckPeriodS, 2.5);
    assert.equal(options.retryDelayS, 0);
    assert.equal(options.numWorkerProcesses, 2);
    assert.deepEqual(options.enabledDrivers, ['router']);
    assert.equal(options.apiListen, '127.0.0.1');
    assert.equal(options.apiPort, 8080);
    assert.equal(options.managementPrefix, 'fd00:5::/64');
    assert.equal(options.local.managementAddress, 'fd00:5::1');
    assert.equal(options.asn, 4200000000);
    assert.equal(options.router.imageUuid, '0f1e2d3c-aaaa-bbbb-cccc-000000000001');
    assert.equal(options.local.resources, '/etc/lab/resources.yaml');
    assert.deepEqual(options.local.agentCommand, ['node', '/opt/astara/bin/astara-appliance', '--quiet']);
    assert.equal(options.local.stopAppliancesOnExit, true);
  });

  it('enables the load balancer driver beside the router one, with its own agent port and image', () => {
    const { options, warnings } = parseOptions(
      `[DEFAULT]\nenabled_drivers = router,loadbalancer\n[loadbalancer]\nmgt_service_port = 5001\nimage_uuid = lb-image-1\ninstance_flavor = lb-flavor\n${LOCAL}`,
    );
    assert.deepEqual(warnings, []);
    assert.deepEqual(options.enabledDrivers, ['router', 'loadbalancer']);
    assert.deepEqual(options.loadbalancer, { mgtServicePort: 5001, imageUuid: 'lb-image-1', instanceFlavor: 'lb-flavor' });
    assert.equal(options.router.mgtServicePort, 5000);
    assert.deepEqual(parseOptions(`[DEFAULT]\nenabled_drivers = loadbalancer\n${LOCAL}`).options.enabledDrivers, ['loadbalancer']);
  });

  it('accepts every boolean spelling, case-insensitive', () => {
    for (const [text, expected] of [
      ['true', true],
      ['TRUE', true],
      ['yes', true],
      ['1', true],
      ['false', false],
      ['No', false],
      ['0', false],
    ] as const) {
      const { options } = parseOptions(`${LOCAL}stop_appliances_on_exit = ${text}\n`);
      assert.equal(options.local.stopAppliancesOnExit, expected, text);
    }
  });

  it('resolves relative paths against the file directory, or the working directory without a file', () => {
    const text = '[DEFAULT]\nstate_path = state\n[local]\nresources = resources.yaml\n';
    assert.equal(parseOptions(text, '/srv/lab/orchestrator.ini').options.local.resources, '/srv/lab/resources.yaml');
    assert.equal(parseOptions(text, '/srv/lab/orchestrator.ini').options.statePath, '/srv/lab/state');
    assert.equal(parseOptions(text).options.local.resources, resolve(process.cwd(), 'resources.yaml'));
  });

  it('warns about unknown options and sections without failing', () => {
    const { warnings } = parseOptions(
      `[DEFAULT]\nfoo = 1\n[nova]\nurl = x\n[router.extra]\nx = 1\n${LOCAL}[coordination]\nmembership_timeout = 30\n`,
    );
    assert.deepEqual([...warnings].sort(), [
      'unknown option [DEFAULT] foo',
      'unknown option [coordination] membership_timeout',
      'unknown section [nova]',
      'unknown section [router.extra]',
    ]);
  });

  it('accepts the deprecated names with a warning', () => {
    const { options, warnings } = parseOptions(
      `[DEFAULT]\nrug_api_port = 9000\nrouter_image_uuid = img-1\nakanda_mgt_service_port = 5001\n${LOCAL}`,
    );
    assert.equal(options.apiPort, 9000);
    assert.equal(options.router.imageUuid, 'img-1');
    assert.equal(options.router.mgtServicePort, 5001);
    assert.deepEqual(warnings, [
      '[DEFAULT] rug_api_port is deprecated: use [DEFAULT] api_port',
      '[DEFAULT] router_image_uuid is deprecated: use [router] image_uuid',
      '[DEFAULT] akanda_mgt_service_port is deprecated: use [router] mgt_service_port',
    ]);
  });

  it('prefers the current name over a deprecated one, whichever comes first', () => {
    const before = parseOptions(`[DEFAULT]\napi_port = 9001\nrug_api_port = 9000\n${LOCAL}`);
    assert.equal(before.options.apiPort, 9001);
    assert.deepEqual(before.warnings, ['[DEFAULT] rug_api_port is deprecated and ignored: [DEFAULT] api_port is given too']);
    const after = parseOptions(`[DEFAULT]\nrug_api_port = 9000\napi_port = 9001\n${LOCAL}`);
    assert.equal(after.options.apiPort, 9001);
    assert.equal(after.warnings.length, 2);
  });

  it('reports every invalid option at once, each named with its section', () => {
    const problems = problemsOf(
      [
        'stray = 1',
        '[DEFAULT]',
        'log_level = loud',
        'health_check_period = 0',
        'alive_timeout = soon',
        'boot_timeout = 100000',
        'retry_delay = -1',
        'max_retries = 1.5',
        'num_worker_processes = 0',
        'num_worker_threads = 0',
        'enabled_drivers = router, firewall',
        'api_listen = localhost',
        'api_port = 70000',
        'astara_metadata_port = 0',
        'management_network_id = net work',
        'management_prefix = fdca:3ba5:a17a:acda::/48',
        'asn = 0',
        'host = orch"1',
        '[router]',
        'mgt_service_port = http',
        '[local]',
        'stop_appliances_on_exit = maybe',
        'foo[] = 1',
        'management_address = 192.0.2.1',
        '[coordination]',
        'heartbeat_interval = 0',
      ].join('\n'),
    );
    assert.deepEqual([...problems].sort(), [
      '[DEFAULT] alive_timeout: must be a number of seconds, not "soon"',
      '[DEFAULT] api_listen: must be an IPv4 or IPv6 address, not "localhost"',
      '[DEFAULT] api_port: must be between 1 and 65535, not 70000',
      '[DEFAULT] asn: must be between 1 and 4294967295, not 0',
      '[DEFAULT] astara_metadata_port: must be between 1 and 65535, not 0',
      '[DEFAULT] boot_timeout: must be between 0 and 86400, not 100000',
      '[DEFAULT] enabled_drivers: unknown driver "firewall" (known: router, loadbalancer)',
      '[DEFAULT] health_check_period: must be more than 0 seconds, not 0',
      '[DEFAULT] host: must be 1 to 255 characters without control characters or any of " \' \\ ` { } ; $ #',
      '[DEFAULT] log_level: must be one of fatal, error, warn, info, debug, trace, not "loud"',
      '[DEFAULT] management_network_id: must be 1 to 255 letters, digits or any of _ . : -',
      '[DEFAULT] management_prefix: must be an IPv6 network with prefix length 64 (such as fdca:3ba5:a17a:acda::/64), not "fdca:3ba5:a17a:acda::/48"',
      '[DEFAULT] max_retries: must be a whole number, not "1.5"',
      '[DEFAULT] num_worker_processes: must be between 1 and 1024, not 0',
      '[DEFAULT] num_worker_threads: must be between 1 and 1024, not 0',
      '[DEFAULT] retry_delay: must be between 0 and 86400, not -1',
      '[coordination] heartbeat_interval: must be more than 0 seconds, not 0',
      '[local] management_address: must be an IPv6 address, not "192.0.2.1"',
      '[local] resources: is required with the local provider (the resource file, YAML or JSON)',
      '[local] stop_appliances_on_exit: must be true or false (yes/no, 1/0), not "maybe"',
      '[router] mgt_service_port: must be a whole number, not "http"',
      'option stray is outside any section (put it under [DEFAULT])',
    ]);
  });

  it('keeps the warnings of a file it rejects', () => {
    assert.throws(
      () => parseOptions('[local]\nresource = r.yaml\n'),
      (error: unknown) =>
        error instanceof OptionsError &&
        error.problems.includes('[local] resources: is required with the local provider (the resource file, YAML or JSON)') &&
        error.warnings.includes('unknown option [local] resource'),
    );
  });

  it('wants the management prefix to be a /64 network without host bits', () => {
    assert.match(problemsOf(`[DEFAULT]\nmanagement_prefix = fdca:3ba5:a17a:acda::1/64\n${LOCAL}`).join(), /management_prefix: must be an IPv6 network/);
    assert.match(problemsOf(`[DEFAULT]\nmanagement_prefix = 192.0.2.0/24\n${LOCAL}`).join(), /management_prefix: must be an IPv6 network/);
  });

  it('wants the management address inside the management prefix', () => {
    assert.deepEqual(problemsOf(`${LOCAL}management_address = fd00:1::1\n`), [
      '[local] management_address: fd00:1::1 is not inside management_prefix fdca:3ba5:a17a:acda::/64',
    ]);
    assert.equal(parseOptions(`${LOCAL}management_address = FDCA:3BA5:A17A:ACDA::5\n`).options.local.managementAddress, 'fdca:3ba5:a17a:acda::5');
  });

  it('wants an admin token file whenever the admin API listens beyond loopback', () => {
    for (const listen of ['::', '0.0.0.0', '192.0.2.10', 'fdca:3ba5:a17a:acda::1']) {
      assert.deepEqual(problemsOf(`[DEFAULT]\napi_listen = ${listen}\n${LOCAL}`), [
        `[DEFAULT] admin_token_file: is required when api_listen (${listen}) is not a loopback address: anyone who reaches the admin API could rebuild every appliance`,
      ]);
    }
    for (const listen of ['::1', '127.0.0.1', '127.0.0.53', '::ffff:127.0.0.1']) assert.equal(parseOptions(`[DEFAULT]\napi_listen = ${listen}\n${LOCAL}`).options.adminTokenFile, undefined);
    const { options } = parseOptions(`[DEFAULT]\napi_listen = ::\nadmin_token_file = token\n${LOCAL}`, '/etc/astara/orchestrator.ini');
    assert.equal(options.adminTokenFile, '/etc/astara/token');
  });

  it('takes Neutron as the network provider with local appliances or Nova\'s, without a resource file; Nova only with Neutron', () => {
    const { options } = parseOptions(`[DEFAULT]\nnetwork_provider = openstack\ncompute_provider = local\ntransport_url = rabbit://u:p@192.0.2.1/\n${KEYSTONE}`);
    assert.equal(options.networkProvider, 'openstack');
    assert.equal(options.computeProvider, 'local');
    for (const providers of ['provider = openstack', 'network_provider = openstack\ncompute_provider = nova', 'network_provider = openstack\ncompute_provider = openstack']) {
      const nova = parseOptions(`[DEFAULT]\n${providers}\ntransport_url = rabbit://u:p@192.0.2.1/\n[router]\ninstance_flavor = f1\n${KEYSTONE}`).options;
      assert.equal(nova.networkProvider, 'openstack', providers);
      assert.equal(nova.computeProvider, 'nova', providers);
      assert.equal(nova.router.instanceFlavor, 'f1');
    }
    assert.deepEqual(problemsOf(`[DEFAULT]\ncompute_provider = nova\n${LOCAL}`), ['[DEFAULT] compute_provider: nova needs network_provider = openstack: Nova plugs Neutron\'s ports']);
    assert.deepEqual(problemsOf(`[DEFAULT]\nnetwork_provider = nova\n${LOCAL}`), ['[DEFAULT] network_provider: must be local or openstack, not "nova"']);
    assert.deepEqual(problemsOf(`[DEFAULT]\nprovider = aws\n${LOCAL}`), ['[DEFAULT] provider: must be local or openstack, not "aws"']);
    assert.deepEqual(problemsOf(`[DEFAULT]\ncompute_provider = aws\n${LOCAL}`), ['[DEFAULT] compute_provider: must be local or nova (or openstack), not "aws"']);
    assert.deepEqual(problemsOf(`[router]\ninstance_flavor = bad flavor\n${LOCAL}`), ['[router] instance_flavor: must be 1 to 255 letters, digits or any of _ . : -']);
  });

  it('wants Keystone and RabbitMQ with the openstack network provider, naming each missing option', () => {
    assert.deepEqual(problemsOf('[DEFAULT]\nnetwork_provider = openstack\n'), [
      '[DEFAULT] transport_url: is required with network_provider = openstack',
      '[keystone_authtoken] auth_url: is required with network_provider = openstack',
      '[keystone_authtoken] username: is required with network_provider = openstack',
      '[keystone_authtoken] password: is required with network_provider = openstack',
      '[keystone_authtoken] project_name: is required with network_provider = openstack',
    ]);
  });

  it('reads the OpenStack provider\'s options with oslo\'s names, the password hidden from describeOptions', () => {
    const { options } = parseOptions(
      `[DEFAULT]\ntransport_url = rabbit://astara:pw@192.0.2.1:5672,192.0.2.2/astara\nauth_region = RegionTwo\nendpoint_type = internalURL\nmanagement_subnet_id = sub-1\n${LOCAL}${KEYSTONE}user_domain_name = Users\n`,
    );
    assert.deepEqual(options.openstack, {
      transportUrls: ['amqp://astara:pw@192.0.2.1:5672/astara', 'amqp://astara:pw@192.0.2.2:5672/astara'],
      authRegion: 'RegionTwo',
      endpointType: 'internal',
      managementSubnetId: 'sub-1',
      authUrl: 'http://192.0.2.10:5000',
      username: 'astara',
      password: 'secret',
      projectName: 'service',
      userDomainName: 'Users',
      projectDomainName: 'Default',
    });
    const described = describeOptions(options);
    assert.ok(described.includes('[keystone_authtoken] password = ***'));
    assert.ok(described.includes('[DEFAULT] transport_url = amqp://astara:***@192.0.2.1:5672/astara,amqp://astara:***@192.0.2.2:5672/astara'));
    assert.ok(!described.some((line) => line.includes('secret') || line.includes(':pw@')));
  });

  it('names the OpenStack option that is wrong', () => {
    assert.deepEqual(problemsOf(`[DEFAULT]\ntransport_url = kafka://192.0.2.1/\nendpoint_type = privateURL\n${LOCAL}[keystone_authtoken]\nauth_url = keystone:5000\n`), [
      '[DEFAULT] transport_url: must be rabbit://user:password@host:port/vhost, not "kafka://192.0.2.1/"',
      '[DEFAULT] endpoint_type: must be publicURL, internalURL or adminURL, not "privateURL"',
      '[keystone_authtoken] auth_url: must be an http:// or https:// URL, not "keystone:5000"',
    ]);
  });

  it('wants all three TLS files of a group or none, and both groups together with the local provider', () => {
    assert.deepEqual(problemsOf(`[appliance_tls]\nca_file = ca.pem\n${LOCAL}`).slice().sort(), [
      '[appliance_tls] cert_file: is required when any of ca_file, cert_file, key_file is set',
      '[appliance_tls] key_file: is required when any of ca_file, cert_file, key_file is set',
    ]);
    assert.deepEqual(problemsOf(`[appliance_tls]\nca_file = ca.pem\ncert_file = c.pem\nkey_file = k.pem\n${LOCAL}`), [
      '[appliance_tls] and [local] agent_tls_cert, agent_tls_key, agent_tls_client_ca must be set together with the local provider: the orchestrator uses HTTPS exactly when the agents it starts serve it',
    ]);
    const { options } = parseOptions(
      `[appliance_tls]\nca_file = ca.pem\ncert_file = c.pem\nkey_file = k.pem\n${LOCAL}agent_tls_cert = a.pem\nagent_tls_key = a-key.pem\nagent_tls_client_ca = ca.pem\n`,
      '/etc/astara/orchestrator.ini',
    );
    assert.deepEqual(options.applianceTls, { caFile: '/etc/astara/ca.pem', certFile: '/etc/astara/c.pem', keyFile: '/etc/astara/k.pem' });
    assert.deepEqual(options.local.agentTls, { certFile: '/etc/astara/a.pem', keyFile: '/etc/astara/a-key.pem', clientCaFile: '/etc/astara/ca.pem' });
  });

  it('parses the sample configuration without warnings', async () => {
    const file = join(repository, 'docs', 'examples', 'orchestrator.ini');
    const { options, warnings } = parseOptions(await readFile(file, 'utf8'), file);
    assert.deepEqual(warnings, []);
    assert.equal(options.local.resources, join(repository, 'docs', 'examples', 'resources.yaml'));
    assert.equal(options.healthCheckPeriodS, 10);
  });
});

describe('OPTION_DOCS and describeOptions', () => {
  it('documents every option once, with a description', () => {
    const names = OPTION_DOCS.map((d) => `[${d.section}] ${d.name}`);
    assert.equal(new Set(names).size, names.length);
    assert.ok(OPTION_DOCS.every((d) => d.description.length > 0));
    assert.ok(names.includes('[DEFAULT] health_check_period'));
    assert.equal(OPTION_DOCS.find((d) => d.name === 'api_port')?.default, '44250');
  });

  it('shows every option in effect, TLS paths included', () => {
    const { options } = parseOptions(
      `[DEFAULT]\nhost = orch-1\n[appliance_tls]\nca_file = /tls/ca.pem\ncert_file = /tls/c.pem\nkey_file = /tls/k.pem\n${LOCAL}agent_tls_cert = /tls/a.pem\nagent_tls_key = /tls/a-key.pem\nagent_tls_client_ca = /tls/ca.pem\n`,
    );
    const lines = describeOptions(options);
    assert.ok(lines.includes('[DEFAULT] host = orch-1'));
    assert.ok(lines.includes('[DEFAULT] health_check_period = 60'));
    assert.ok(lines.includes('[DEFAULT] enabled_drivers = router'));
    assert.ok(lines.includes('[appliance_tls] key_file = /tls/k.pem'));
    assert.ok(lines.includes('[local] agent_tls_key = /tls/a-key.pem'));
    assert.ok(lines.includes('[router] image_uuid = '));
    assert.ok(lines.includes('[coordination] enabled = false'));
  });
});

describe('loadOptions', () => {
  it('reads a file, passes its warnings on and checks that the TLS files can be read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'astara-options-'));
    try {
      await writeFile(join(dir, 'ca.pem'), 'pem');
      const file = join(dir, 'orchestrator.ini');
      await writeFile(
        file,
        `[DEFAULT]\nfoo = 1\n[appliance_tls]\nca_file = ca.pem\ncert_file = c.pem\nkey_file = k.pem\n[local]\nresources = r.yaml\nagent_tls_cert = ca.pem\nagent_tls_key = ca.pem\nagent_tls_client_ca = ca.pem\n`,
      );
      const warnings: string[] = [];
      await assert.rejects(loadOptions(file, (w) => warnings.push(w)), (error: unknown) => {
        assert.ok(error instanceof OptionsError);
        assert.deepEqual(error.problems, [
          `[appliance_tls] cert_file: cannot read ${join(dir, 'c.pem')}: ENOENT`,
          `[appliance_tls] key_file: cannot read ${join(dir, 'k.pem')}: ENOENT`,
        ]);
        return true;
      });
      assert.deepEqual(warnings, ['unknown option [DEFAULT] foo']);

      await writeFile(file, '[local]\nresources = r.yaml\n');
      const options = await loadOptions(file, () => assert.fail('no warning expected'));
      assert.equal(options.configFile, file);
      assert.equal(options.local.resources, join(dir, 'r.yaml'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('without a file, uses the defaults when /etc/astara/orchestrator.ini is absent, and then wants [local] resources', { skip: existsSync(DEFAULT_CONFIG_FILE) }, async () => {
    await assert.rejects(loadOptions(undefined), (error: unknown) => {
      assert.ok(error instanceof OptionsError);
      assert.deepEqual(error.problems, ['[local] resources: is required with the local provider (the resource file, YAML or JSON)']);
      return true;
    });
  });

  it('names a configuration file it cannot read', async () => {
    await assert.rejects(loadOptions('/nonexistent/astara.ini'), (error: unknown) => {
      assert.ok(error instanceof OptionsError);
      assert.match(error.problems[0] ?? '', /^cannot read the configuration file \/nonexistent\/astara\.ini: /);
      return true;
    });
  });
});
