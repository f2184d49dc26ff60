import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OptionsError, parseOptions } from '../options.js';

const LOCAL = '[local]\nresources = /srv/astara/resources.yaml\n';

const problems = (text: string): readonly string[] => {
  try {
    parseOptions(text);
  } catch (error) {
    if (error instanceof OptionsError) return error.problems;
    throw error;
  }
  return [];
};

describe('[coordination] options', () => {
  it('reads several etcd endpoints, the scheme given once', () => {
    const { options } = parseOptions(
      `[DEFAULT]\nhash_partition_exponent = 7\n${LOCAL}appliances_path = /srv/shared\n[coordination]\nenabled = true\nurl = etcd3+http://127.0.0.1:32379, 127.0.0.1:32381,etcd3+http://[::1]:32383\ngroup_id = lab.1\nheartbeat_interval = 0.5\nlease_ttl = 3\n`,
    );
    assert.deepEqual(options.coordination, {
      enabled: true,
      endpoints: ['http://127.0.0.1:32379', 'http://127.0.0.1:32381', 'http://[::1]:32383'],
      groupId: 'lab.1',
      heartbeatIntervalS: 0.5,
      leaseTtlS: 3,
    });
    assert.equal(options.hashPartitionExponent, 7);
    assert.equal(options.local.appliancesPath, '/srv/shared');
  });

  it('names each bad value', () => {
    assert.deepEqual([...problems(`${LOCAL}stop_appliances_on_exit = true\n[coordination]\nenabled = true\nurl = memcached://localhost:11211\ngroup_id = a/b\nheartbeat_interval = 2\nlease_ttl = 2\n`)].sort(), [
      '[coordination] group_id: must be 1 to 100 letters, digits, \'_\', \'.\' or \'-\', not "a/b"',
      '[coordination] lease_ttl: must be more than heartbeat_interval (2 s), not 2',
      '[coordination] url: must be etcd3+http://host:port endpoints separated by commas, not "memcached://localhost:11211"',
      '[local] stop_appliances_on_exit: cannot be true with [coordination] enabled: the other members adopt a stopping member\'s appliances',
    ]);
    assert.deepEqual(problems(`[DEFAULT]\nhash_partition_exponent = 17\n${LOCAL}`), ['[DEFAULT] hash_partition_exponent: must be between 0 and 16, not 17']);
    assert.deepEqual(problems(`${LOCAL}[coordination]\nlease_ttl = 1\n`), ['[coordination] lease_ttl: must be between 2 and 3600, not 1']);
  });
});
