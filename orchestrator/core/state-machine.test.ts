// The original's state machine test vectors (test_state.py), ported one for
// one, plus the canonical traces of a healthy poll, a new router, a lost
// appliance, a deleted router and a boot loop.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { CLUSTER_REBUILD, CREATE, DELETE, POLL, READ, REBUILD, UPDATE, event } from './events.js';
import { BOOTING, CONFIGURED, DEGRADED, DOWN, ERROR, GONE, REPLUG, RESTART, UP, type InstanceManagerApi, type InstanceState } from './instance-state.js';
import {
  bootCheckDelay,
  Alive,
  Automaton,
  CalcAction,
  CheckBoot,
  ClearError,
  ConfigureInstance,
  CreateInstance,
  Exit,
  PushUpdate,
  ReadStats,
  RebuildInstance,
  ReplugInstance,
  State,
  StopInstance,
  stateParams,
  type AutomatonOptions,
  type Transition,
} from './state-machine.js';

const RESOURCE = { driver: 'router', id: '5a7b1c2d-0000-4000-8000-000000000001', tenantId: 'c25992581e574b6485dbfdf39a3df46c' };

/** An instance manager whose methods record their calls and move to scripted states. */
class FakeInstance implements InstanceManagerApi {
  state: InstanceState = DOWN;
  attempts = 0;
  errorCooldown = false;
  imageId: string | undefined = 'default-image';
  readonly calls: string[] = [];
  /** What each method moves the state to, consumed in order; absent: the state is left alone. */
  readonly script: Partial<Record<string, InstanceState[]>> = {};

  #step(name: string): void {
    this.calls.push(name);
    const next = this.script[name]?.shift();
    if (next) this.state = next;
  }
  updateState() {
    this.#step('updateState');
    return Promise.resolve(this.state);
  }
  boot() {
    if (this.state !== DEGRADED) this.attempts++;
    this.#step('boot');
    return Promise.resolve();
  }
  stop() {
    this.#step('stop');
    return Promise.resolve(this.state);
  }
  configure() {
    this.#step('configure');
    return Promise.resolve(this.state);
  }
  replug() {
    this.#step('replug');
    return Promise.resolve(this.state);
  }
  setError() {
    this.#step('setError');
    this.state = ERROR;
    return Promise.resolve();
  }
  clearError() {
    this.#step('clearError');
    this.state = DOWN;
    this.attempts = 0;
    return Promise.resolve();
  }
  resetBootCounter() {
    this.calls.push('resetBootCounter');
    this.attempts = 0;
  }
}

interface LogRecord {
  level: string;
  msg: string;
  obj: Record<string, unknown>;
}

function recordingLogger(records: LogRecord[]) {
  const logger = pino({ level: 'debug' }, { write: () => undefined });
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    (logger as unknown as Record<string, unknown>)[level] = (obj: Record<string, unknown>, msg: string) => records.push({ level, msg, obj });
  }
  return logger;
}

function options(instance: FakeInstance, extra: Partial<AutomatonOptions> = {}, records: LogRecord[] = []): AutomatonOptions {
  return {
    resource: RESOURCE,
    instance,
    log: recordingLogger(records),
    queueWarningThreshold: 3,
    rebootErrorThreshold: 3,
    bootCheckIntervalMs: 500,
    stopRetryDelayMs: 0,
    defaultImageId: 'default-image',
    onDelete: () => undefined,
    sleep: () => Promise.resolve(),
    ...extra,
  };
}

function setup(state: InstanceState = DOWN, queue: string[] = [], extra: Partial<AutomatonOptions> = {}) {
  const instance = new FakeInstance();
  instance.state = state;
  const params = stateParams(options(instance, extra), queue);
  return { instance, params, queue };
}

describe('State base and Exit', () => {
  it('execute returns the action and transition stays put', async () => {
    const { params } = setup();
    for (const state of [new Exit(params)]) {
      assert.equal(await state.execute('passthrough'), 'passthrough');
      assert.equal(state.transition('passthrough'), state);
    }
    class Plain extends State {}
    const plain = new Plain(params);
    assert.equal(await plain.execute('x'), 'x');
    assert.equal(plain.transition('x'), plain);
  });
});

describe('CalcAction.execute: queue coalescing (the nine vectors)', () => {
  const vectors: [string | null, string[], string, number][] = [
    ['testaction', [], 'testaction', 0],
    [POLL, [CREATE, DELETE], DELETE, 2],
    [null, [UPDATE, UPDATE], UPDATE, 0],
    [null, [POLL, POLL], POLL, 0],
    [POLL, [CREATE, UPDATE], CREATE, 0],
    [POLL, [UPDATE, CREATE], CREATE, 0],
    [POLL, [UPDATE, UPDATE, UPDATE], UPDATE, 0],
    [POLL, [UPDATE, POLL, UPDATE, POLL, UPDATE, READ], UPDATE, 1],
    [POLL, [UPDATE, UPDATE, POLL, POLL], UPDATE, 0],
  ];
  for (const [initial, queue, expected, left] of vectors) {
    it(`${String(initial)} + [${queue.join(', ')}] -> ${expected}, ${left} left`, async () => {
      const { params } = setup(UP, [...queue]);
      const result = await new CalcAction(params).execute(initial as string);
      assert.equal(result, expected);
      assert.equal(params.queue.length, left);
    });
  }

  it('POLL then REBUILD -> REBUILD; REBUILD then UPDATE -> REBUILD with UPDATE left; sticky UPDATE absorbs a POLL', async () => {
    const a = setup(UP, [REBUILD]);
    assert.equal(await new CalcAction(a.params).execute(POLL), REBUILD);
    const b = setup(UP, [REBUILD, UPDATE]);
    assert.equal(await new CalcAction(b.params).execute(POLL), REBUILD);
    assert.deepEqual(b.params.queue, [UPDATE]);
    const c = setup(UP, [POLL]);
    assert.equal(await new CalcAction(c.params).execute(UPDATE), UPDATE);
    assert.deepEqual(c.params.queue, []);
  });

  it('DEGRADED queues one CLUSTER_REBUILD', async () => {
    const { params } = setup(DEGRADED, []);
    assert.equal(await new CalcAction(params).execute(POLL), CLUSTER_REBUILD);
    const again = setup(DEGRADED, [CLUSTER_REBUILD]);
    await new CalcAction(again.params).execute(POLL);
    assert.deepEqual(again.params.queue, []);
  });
});

describe('CalcAction.transition', () => {
  const cases: [string, InstanceState, string][] = [
    [UPDATE, BOOTING, 'CheckBoot'],
    [DELETE, DOWN, 'StopInstance'],
    [DELETE, BOOTING, 'StopInstance'],
    [DELETE, UP, 'StopInstance'],
    [POLL, DOWN, 'CreateInstance'],
    [READ, DOWN, 'CreateInstance'],
    [UPDATE, DOWN, 'CreateInstance'],
    [CREATE, DOWN, 'CreateInstance'],
    [POLL, UP, 'Alive'],
    [POLL, CONFIGURED, 'Alive'],
    [READ, UP, 'Alive'],
    [UPDATE, UP, 'Alive'],
    [CREATE, UP, 'Alive'],
    [REBUILD, CONFIGURED, 'RebuildInstance'],
    [POLL, GONE, 'StopInstance'],
    [CLUSTER_REBUILD, DEGRADED, 'CreateInstance'],
    [CLUSTER_REBUILD, BOOTING, 'CheckBoot'],
    [CLUSTER_REBUILD, UP, 'Alive'],
    [POLL, DEGRADED, 'CreateInstance'],
  ];
  for (const [action, state, expected] of cases) {
    it(`${action} + ${state} -> ${expected}`, () => {
      const { params } = setup(state);
      assert.equal(new CalcAction(params).transition(action).name, expected);
    });
  }

  it('UPDATE in ERROR out of the cool-down -> ClearError then Alive', () => {
    const { params, instance } = setup(ERROR);
    instance.errorCooldown = false;
    const next = new CalcAction(params).transition(UPDATE);
    assert.ok(next instanceof ClearError);
    assert.equal(next.nextState?.name, 'Alive');
  });

  it('UPDATE in ERROR during the cool-down stays in CalcAction; so does POLL', () => {
    const { params, instance } = setup(ERROR);
    instance.errorCooldown = true;
    const calc = new CalcAction(params);
    assert.equal(calc.transition(UPDATE), calc);
    instance.errorCooldown = false;
    assert.equal(calc.transition(POLL), calc);
  });

  it('DELETE in ERROR during the cool-down goes through (ClearError then StopInstance)', () => {
    const { params, instance } = setup(ERROR);
    instance.errorCooldown = true;
    const next = new CalcAction(params).transition(DELETE);
    assert.ok(next instanceof ClearError);
    assert.equal(next.nextState?.name, 'StopInstance');
  });
});

describe('Alive', () => {
  it('execute updates the state once and passes the action through', async () => {
    const { params, instance } = setup(UP);
    assert.equal(await new Alive(params).execute('fake'), 'fake');
    assert.deepEqual(instance.calls, ['updateState']);
  });
  it('transitions', () => {
    for (const action of [POLL, READ, UPDATE, CREATE, DELETE]) assert.equal(new Alive(setup(DOWN).params).transition(action).name, 'CreateInstance');
    assert.equal(new Alive(setup(CONFIGURED).params).transition(POLL).name, 'CalcAction');
    assert.equal(new Alive(setup(CONFIGURED).params).transition(READ).name, 'ReadStats');
    assert.equal(new Alive(setup(UP).params).transition(CREATE).name, 'ConfigureInstance');
    assert.equal(new Alive(setup(CONFIGURED).params).transition(CREATE).name, 'ConfigureInstance');
    assert.equal(new Alive(setup(GONE).params).transition(POLL).name, 'StopInstance');
    assert.equal(new Alive(setup(DEGRADED).params).transition(POLL).name, 'CreateInstance');
  });
});

describe('CreateInstance', () => {
  it('boots once while under the threshold', async () => {
    const { params, instance } = setup(DOWN);
    await new CreateInstance(params).execute(CREATE);
    assert.deepEqual(instance.calls, ['boot']);
  });
  it('at the threshold: no boot, set_error once', async () => {
    const { params, instance } = setup(DOWN);
    instance.attempts = 3;
    await new CreateInstance(params).execute(CREATE);
    assert.deepEqual(instance.calls, ['setError']);
  });
  it('DEGRADED boots whatever the count', async () => {
    const { params, instance } = setup(DEGRADED);
    instance.attempts = 10;
    await new CreateInstance(params).execute(CLUSTER_REBUILD);
    assert.deepEqual(instance.calls, ['boot']);
  });
  it('transitions: BOOTING -> CheckBoot, DOWN -> CreateInstance, ERROR -> CalcAction, GONE -> StopInstance', () => {
    assert.equal(new CreateInstance(setup(BOOTING).params).transition(CREATE).name, 'CheckBoot');
    assert.equal(new CreateInstance(setup(DOWN).params).transition(CREATE).name, 'CreateInstance');
    assert.equal(new CreateInstance(setup(ERROR).params).transition(CREATE).name, 'CalcAction');
    assert.equal(new CreateInstance(setup(GONE).params).transition(CREATE).name, 'StopInstance');
  });
});

describe('RebuildInstance', () => {
  it('stops and returns CREATE with the boot counter reset', async () => {
    const { params, instance } = setup(UP);
    instance.script.stop = [DOWN];
    instance.attempts = 2;
    assert.equal(await new RebuildInstance(params).execute(REBUILD), CREATE);
    assert.deepEqual(instance.calls, ['stop', 'resetBootCounter']);
    assert.equal(instance.attempts, 0);
  });
  it('returns DELETE when the resource is gone', async () => {
    const { params, instance } = setup(UP);
    instance.script.stop = [GONE];
    assert.equal(await new RebuildInstance(params).execute(REBUILD), DELETE);
  });
  it('transitions: not stopped -> itself, GONE -> Exit, DOWN -> CreateInstance', () => {
    const rebuild = new RebuildInstance(setup(UP).params);
    assert.equal(rebuild.transition(CREATE), rebuild);
    assert.equal(new RebuildInstance(setup(GONE).params).transition(DELETE).name, 'Exit');
    assert.equal(new RebuildInstance(setup(DOWN).params).transition(CREATE).name, 'CreateInstance');
  });
});

describe('ClearError', () => {
  it('calls clear_error (also from ERROR) and goes to CalcAction, or to the state it was given', async () => {
    const { params, instance } = setup(ERROR);
    await new ClearError(params).execute(UPDATE);
    assert.deepEqual(instance.calls, ['clearError']);
    assert.equal(new ClearError(params).transition(UPDATE).name, 'CalcAction');
    assert.equal(new ClearError(params, new Alive(params)).transition(UPDATE).name, 'Alive');
  });
});

describe('CheckBoot', () => {
  it('updates once and re-queues the action so the next pass comes back', async () => {
    const { params, instance } = setup(BOOTING);
    await new CheckBoot(params).execute('passthrough');
    assert.deepEqual(instance.calls, ['updateState']);
    assert.deepEqual(params.queue, ['passthrough']);
  });
  it('asks the runner to wait while the appliance is still booting, not once it is up', async () => {
    const booting = setup(BOOTING);
    await new CheckBoot(booting.params).execute(CREATE);
    assert.equal(booting.params.retryDelayMs, 500);
    const up = setup(BOOTING);
    up.instance.script.updateState = [UP];
    await new CheckBoot(up.params).execute(CREATE);
    assert.equal(up.params.retryDelayMs, 0);
    assert.deepEqual(up.params.queue, [CREATE]);
  });
  it('waits the interval for the first 8 checks, then twice as long each time up to 4 s, and starts again once the appliance is up', async () => {
    const { params, instance } = setup(BOOTING);
    const delays: number[] = [];
    for (let i = 0; i < 14; i++) {
      await new CheckBoot(params).execute(CREATE);
      delays.push(params.retryDelayMs);
    }
    assert.deepEqual(delays, [500, 500, 500, 500, 500, 500, 500, 500, 500, 1000, 2000, 4000, 4000, 4000]);
    instance.script.updateState = [UP];
    await new CheckBoot(params).execute(CREATE);
    instance.script.updateState = [BOOTING];
    await new CheckBoot(params).execute(CREATE);
    assert.equal(params.retryDelayMs, 500);
  });
  it('never waits less than the interval, however long it is', () => {
    assert.equal(bootCheckDelay(20, 10_000), 10_000);
    assert.equal(bootCheckDelay(0, 250), 250);
  });
  it('does not re-queue when the appliance is down or gone', async () => {
    const { params, instance } = setup(BOOTING);
    instance.script.updateState = [DOWN];
    await new CheckBoot(params).execute(CREATE);
    assert.deepEqual(params.queue, []);
  });
  it('transitions: UP -> Configure, REPLUG -> Replug, BOOTING -> CalcAction, DOWN/GONE -> Stop', () => {
    assert.equal(new CheckBoot(setup(UP).params).transition(CREATE).name, 'ConfigureInstance');
    assert.equal(new CheckBoot(setup(REPLUG).params).transition(CREATE).name, 'ReplugInstance');
    assert.equal(new CheckBoot(setup(BOOTING).params).transition(CREATE).name, 'CalcAction');
    assert.equal(new CheckBoot(setup(DOWN).params).transition(CREATE).name, 'StopInstance');
    assert.equal(new CheckBoot(setup(GONE).params).transition(CREATE).name, 'StopInstance');
  });
});

describe('StopInstance', () => {
  it('execute stops; GONE turns the action into DELETE', async () => {
    const { params, instance } = setup(UP);
    instance.script.stop = [DOWN];
    assert.equal(await new StopInstance(params).execute(UPDATE), UPDATE);
    assert.deepEqual(instance.calls, ['stop']);
    const gone = setup(UP);
    gone.instance.script.stop = [GONE];
    assert.equal(await new StopInstance(gone.params).execute(UPDATE), DELETE);
  });
  it('transitions: UP+DELETE -> itself, DOWN+DELETE -> Exit, DOWN+READ -> CreateInstance, GONE -> Exit', () => {
    const stop = new StopInstance(setup(UP).params);
    assert.equal(stop.transition(DELETE), stop);
    assert.equal(new StopInstance(setup(DOWN).params).transition(DELETE).name, 'Exit');
    assert.equal(new StopInstance(setup(DOWN).params).transition(READ).name, 'CreateInstance');
    assert.equal(new StopInstance(setup(GONE).params).transition(UPDATE).name, 'Exit');
  });
  it('waits before retrying a stop that failed', async () => {
    let slept = 0;
    const { params } = setup(UP, [], {
      stopRetryDelayMs: 250,
      sleep: (ms) => {
        slept += ms;
        return Promise.resolve();
      },
    });
    await new StopInstance(params).execute(DELETE);
    assert.equal(slept, 250);
  });
});

describe('ReplugInstance', () => {
  it('replugs; REPLUG -> Configure, RESTART -> Stop', async () => {
    const { params, instance } = setup(REPLUG);
    await new ReplugInstance(params).execute(UPDATE);
    assert.deepEqual(instance.calls, ['replug']);
    assert.equal(new ReplugInstance(setup(REPLUG).params).transition(UPDATE).name, 'ConfigureInstance');
    assert.equal(new ReplugInstance(setup(RESTART).params).transition(UPDATE).name, 'StopInstance');
  });
});

describe('ConfigureInstance', () => {
  it('configured: READ stays READ, anything else becomes POLL; not configured: the action is kept', async () => {
    const read = setup(UP);
    read.instance.script.configure = [CONFIGURED];
    assert.equal(await new ConfigureInstance(read.params).execute(READ), READ);
    const update = setup(UP);
    update.instance.script.configure = [CONFIGURED];
    assert.equal(await new ConfigureInstance(update.params).execute(UPDATE), POLL);
    const failed = setup(UP);
    failed.instance.script.configure = [RESTART];
    assert.equal(await new ConfigureInstance(failed.params).execute(UPDATE), UPDATE);
  });
  it('transitions', () => {
    assert.equal(new ConfigureInstance(setup(DOWN).params).transition(UPDATE).name, 'StopInstance');
    assert.equal(new ConfigureInstance(setup(RESTART).params).transition(UPDATE).name, 'StopInstance');
    assert.equal(new ConfigureInstance(setup(GONE).params).transition(UPDATE).name, 'StopInstance');
    assert.equal(new ConfigureInstance(setup(UP).params).transition(UPDATE).name, 'PushUpdate');
    assert.equal(new ConfigureInstance(setup(REPLUG).params).transition(UPDATE).name, 'ReplugInstance');
    assert.equal(new ConfigureInstance(setup(CONFIGURED).params).transition(READ).name, 'ReadStats');
    assert.equal(new ConfigureInstance(setup(CONFIGURED).params).transition(POLL).name, 'CalcAction');
    assert.equal(new ConfigureInstance(setup(ERROR).params).transition(UPDATE).name, 'CalcAction');
  });
});

describe('PushUpdate and ReadStats', () => {
  it('PushUpdate puts an UPDATE at the head of the queue and yields', async () => {
    const { params } = setup(UP, [POLL]);
    await new PushUpdate(params).execute(UPDATE);
    assert.deepEqual(params.queue, [UPDATE, POLL]);
    assert.equal(new PushUpdate(params).transition(UPDATE).name, 'CalcAction');
  });
  it('ReadStats reads the figures and returns POLL', async () => {
    let read = 0;
    const { params } = setup(CONFIGURED, [], {
      readStats: () => {
        read++;
        return Promise.resolve();
      },
    });
    assert.equal(await new ReadStats(params).execute(READ), POLL);
    assert.equal(read, 1);
    assert.equal(new ReadStats(params).transition(POLL).name, 'CalcAction');
  });
});

describe('Automaton', () => {
  const make = (state: InstanceState = UP, extra: Partial<AutomatonOptions> = {}, records: LogRecord[] = []) => {
    const instance = new FakeInstance();
    instance.state = state;
    const transitions: Transition[] = [];
    const machine = new Automaton(options(instance, { onTransition: (t) => transitions.push(t), ...extra }, records));
    return { instance, machine, transitions };
  };

  it('send_message queues, logging the length; beyond the threshold it warns', () => {
    const records: LogRecord[] = [];
    const { machine } = make(UP, {}, records);
    assert.equal(machine.sendMessage(event(RESOURCE, UPDATE)), true);
    const first = records.at(-1)!;
    assert.equal(first.level, 'debug');
    assert.equal(first.msg, 'incoming message brings queue length to 1');
    for (let i = 0; i < 3; i++) machine.sendMessage(event(RESOURCE, UPDATE));
    const fourth = records.at(-1)!;
    assert.equal(fourth.level, 'warn');
    assert.equal(fourth.msg, 'incoming message brings queue length to 4');
    assert.equal(machine.queue.length, 4);
  });

  it('a deleted machine takes no message and has no more work', async () => {
    let deletes = 0;
    const { machine, instance } = make(UP, { onDelete: () => deletes++ });
    instance.script.stop = [DOWN];
    machine.sendMessage(event(RESOURCE, DELETE));
    await machine.update();
    assert.equal(machine.deleted, true);
    assert.equal(deletes, 1);
    assert.equal(machine.sendMessage(event(RESOURCE, UPDATE)), false);
    assert.equal(machine.hasMoreWork(), false);
  });

  it('in ERROR a POLL is dropped and a CREATE queued', () => {
    const { machine } = make(ERROR);
    assert.equal(machine.sendMessage(event(RESOURCE, POLL)), false);
    assert.equal(machine.sendMessage(event(RESOURCE, CREATE)), true);
    assert.deepEqual(machine.queue, [CREATE]);
    assert.equal(machine.hasError(), true);
  });

  it('REBUILD with an image sets the next boot image; without one it goes back to the default', () => {
    const { machine, instance } = make();
    machine.sendMessage(event(RESOURCE, REBUILD, { image_uuid: 'ABC123' }));
    assert.equal(instance.imageId, 'ABC123');
    machine.sendMessage(event(RESOURCE, REBUILD, { resource_image_uuid: 'DEF456' }));
    assert.equal(instance.imageId, 'DEF456');
    machine.sendMessage(event(RESOURCE, REBUILD, {}));
    assert.equal(instance.imageId, 'default-image');
  });

  it('update with an empty queue does nothing, whatever the sticky action', async () => {
    const { machine, instance, transitions } = make();
    await machine.update();
    assert.deepEqual(instance.calls, []);
    assert.deepEqual(transitions, []);
  });

  it('an execute that throws is logged and the transition still happens', async () => {
    const records: LogRecord[] = [];
    const { machine, instance, transitions } = make(CONFIGURED, {}, records);
    instance.updateState = () => Promise.reject(new Error('boom'));
    machine.sendMessage(event(RESOURCE, POLL));
    await machine.update();
    assert.ok(records.some((r) => r.level === 'error' && r.msg === 'Alive.execute() failed for action: poll'));
    assert.deepEqual(
      transitions.map((t) => t.to),
      ['Alive', 'CalcAction'],
    );
  });

  it('drop_queue empties the queue', () => {
    const { machine } = make();
    machine.sendMessage(event(RESOURCE, UPDATE));
    machine.dropQueue();
    assert.equal(machine.hasMoreWork(), false);
  });

  it('asks for the state once before the first event (an appliance that runs is adopted)', async () => {
    const { machine, instance, transitions } = make(DOWN);
    instance.script.updateState = [UP, UP, CONFIGURED];
    instance.script.configure = [CONFIGURED];
    machine.sendMessage(event(RESOURCE, POLL));
    await machine.update();
    assert.equal(instance.calls[0], 'updateState');
    assert.ok(!instance.calls.includes('boot'), 'nothing booted');
    assert.deepEqual(
      transitions.map((t) => t.to),
      ['Alive', 'ConfigureInstance', 'CalcAction'],
    );
  });
});

describe('canonical traces', () => {
  /** Run update() until the queue is empty, as the worker does, collecting the states visited. */
  async function drain(machine: Automaton, limit = 50): Promise<void> {
    for (let i = 0; i < limit && machine.hasMoreWork(); i++) await machine.update();
    assert.equal(machine.hasMoreWork(), false, 'the machine settles');
  }
  const make = (state: InstanceState) => {
    const instance = new FakeInstance();
    instance.state = state;
    const transitions: Transition[] = [];
    let deleted = 0;
    const machine = new Automaton(
      options(instance, {
        onTransition: (t) => transitions.push(t),
        onDelete: () => {
          deleted++;
        },
      }),
    );
    // The first update() asks for the state once; these traces start after it.
    instance.script.updateState = [state];
    return { instance, machine, transitions, deletedCount: () => deleted };
  };
  const path = (transitions: Transition[]) => ['CalcAction', ...transitions.map((t) => t.to)];

  it('healthy POLL: CalcAction -> Alive -> CalcAction', async () => {
    const { machine, instance, transitions } = make(CONFIGURED);
    instance.script.updateState?.push(CONFIGURED);
    machine.sendMessage(event(RESOURCE, POLL));
    await drain(machine);
    assert.deepEqual(path(transitions), ['CalcAction', 'Alive', 'CalcAction']);
    assert.equal(machine.action, POLL);
  });

  it('new router: boot, check until up, configure, then the re-queued CREATE configures again', async () => {
    const { machine, instance, transitions } = make(DOWN);
    instance.script.boot = [BOOTING];
    instance.script.updateState?.push(BOOTING, UP, CONFIGURED);
    instance.script.configure = [CONFIGURED, CONFIGURED];
    machine.sendMessage(event(RESOURCE, CREATE));
    await drain(machine);
    assert.deepEqual(path(transitions), [
      'CalcAction',
      'CreateInstance',
      'CheckBoot',
      'CalcAction',
      'CheckBoot',
      'ConfigureInstance',
      'CalcAction',
      'Alive',
      'ConfigureInstance',
      'CalcAction',
    ]);
    assert.equal(instance.calls.filter((c) => c === 'configure').length, 2);
    assert.equal(machine.action, POLL);
  });

  it('appliance lost: Alive finds it down and boots a new one', async () => {
    const { machine, instance, transitions } = make(CONFIGURED);
    instance.script.updateState?.push(DOWN);
    instance.script.boot = [BOOTING];
    machine.sendMessage(event(RESOURCE, POLL));
    await machine.update();
    assert.deepEqual(path(transitions).slice(0, 5), ['CalcAction', 'Alive', 'CreateInstance', 'CheckBoot', 'CalcAction']);
  });

  it('router deleted: StopInstance, then Exit and the delete callback', async () => {
    const { machine, instance, transitions, deletedCount } = make(CONFIGURED);
    instance.script.stop = [DOWN];
    machine.sendMessage(event(RESOURCE, DELETE));
    await drain(machine);
    assert.deepEqual(path(transitions), ['CalcAction', 'StopInstance', 'Exit']);
    assert.equal(deletedCount(), 1);
  });

  it('boot failures: CreateInstance retries in the same pass, then ERROR after the threshold', async () => {
    const { machine, instance, transitions } = make(DOWN);
    machine.sendMessage(event(RESOURCE, CREATE));
    await drain(machine);
    assert.deepEqual(path(transitions), ['CalcAction', 'CreateInstance', 'CreateInstance', 'CreateInstance', 'CreateInstance', 'CalcAction']);
    assert.equal(instance.calls.filter((c) => c === 'boot').length, 3);
    assert.equal(instance.state, ERROR);
    // The action stays sticky; POLLs are now dropped.
    assert.equal(machine.action, CREATE);
    assert.equal(machine.sendMessage(event(RESOURCE, POLL)), false);
  });

  it('ERROR: an UPDATE in the cool-down is consumed and ignored; a REBUILD after it clears the error and boots', async () => {
    const { machine, instance, transitions } = make(ERROR);
    instance.errorCooldown = true;
    machine.sendMessage(event(RESOURCE, UPDATE));
    await drain(machine);
    assert.deepEqual(path(transitions), ['CalcAction', 'CalcAction']);
    assert.ok(!instance.calls.includes('boot'));
    instance.errorCooldown = false;
    instance.script.stop = [DOWN];
    instance.script.boot = [BOOTING];
    transitions.length = 0;
    machine.sendMessage(event(RESOURCE, REBUILD));
    await machine.update();
    assert.deepEqual(path(transitions).slice(0, 5), ['CalcAction', 'ClearError', 'RebuildInstance', 'CreateInstance', 'CheckBoot']);
  });

  it('HA member lost: DEGRADED queues CLUSTER_REBUILD, which boots without counting', async () => {
    const { machine, instance, transitions } = make(DEGRADED);
    instance.attempts = 99;
    instance.script.boot = [BOOTING];
    machine.sendMessage(event(RESOURCE, POLL));
    await machine.update();
    assert.deepEqual(path(transitions).slice(0, 4), ['CalcAction', 'CreateInstance', 'CheckBoot', 'CalcAction']);
    assert.equal(instance.attempts, 99);
  });

});
