import { describe, expect, it, vi } from 'vitest';
import { openBanStore, type BanStore } from '../../src/adapters/ban-store.js';
import type { Exchange } from '../../src/adapters/remote.js';
import type { KernelContext } from '../../src/cli/context.js';
import { deliverOutbox, type Transport } from '../../src/app/remote.js';
import type { RemoteTarget } from '../../src/core/domain.js';

const target: RemoteTarget = {
  name: 'fw',
  host: 'fw.example.net',
  port: undefined,
  user: undefined,
  key: undefined,
  knownHosts: undefined,
  strictHostKeyChecking: true,
};

// A context with an in-memory store and a log that remembers its warnings.
function contextWith(store: BanStore) {
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  // A child logger keeps its bindings with each warning, as pino's does.
  const logWith = (bindings: Record<string, unknown>): unknown => ({
    warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields: { ...bindings, ...fields }, message }),
    info: vi.fn(),
    error: vi.fn(),
    debug: vi.fn(),
    child: (more: Record<string, unknown>) => logWith({ ...bindings, ...more }),
  });
  const log = logWith({});
  return { context: { store: () => store, log } as unknown as KernelContext, warnings };
}

// A firewall that permits only jail ssh, whose kernel refuses writes while `broken`, and that remembers
// what it carried out, in order.
function fakeFirewall(options: { legacy?: boolean } = {}) {
  const firewall = { broken: false, reachable: true, carriedOut: [] as string[], sessions: 0 };
  const send: Transport = async (_target, lines): Promise<Exchange> => {
    firewall.sessions++;
    if (!firewall.reachable) return { ok: false, failure: 'ssh: connect to host fw.example.net port 22: Connection refused', answers: [] };
    let failedBefore: string | undefined;
    const answers = lines.map((line) => {
      const [id, verb, jail, address] = line.split(' ');
      if (jail !== 'ssh') return `${id} error ${options.legacy ? '' : 'refused: '}jail ${jail} is not permitted here`;
      if (failedBefore !== undefined) return `${id} error failed: not carried out: request ${failedBefore} failed before it`;
      if (firewall.broken) {
        failedBefore = id;
        return `${id} error failed: recorded, but the kernel refused: write failed`;
      }
      firewall.carriedOut.push(`${verb} ${address}`);
      return `${id} ok banned 1`;
    });
    return { ok: true, answers };
  };
  return { firewall, send };
}

const queue = (store: BanStore, jails: string[]) =>
  store.enqueue(
    jails.map((jail, index) => ({ target: 'fw', verb: 'ban' as const, jail, address: `192.0.2.${index + 1}` })),
    1000,
  );

describe('deliverOutbox', () => {
  it('sets a request refused for good aside and delivers the ones after it, in order', async () => {
    const store = openBanStore(':memory:');
    const { context, warnings } = contextWith(store);
    const { firewall, send } = fakeFirewall();
    queue(store, ['web', 'ssh', 'ssh', 'web', 'ssh']);
    const report = await deliverOutbox(context, target, send);
    expect(report).toMatchObject({ delivered: 3, left: 0, failure: undefined });
    expect(report.refused.map((refusal) => refusal.request.replace(/^@\S+ /, ''))).toEqual(['ban web 192.0.2.1', 'ban web 192.0.2.4']);
    expect(firewall.carriedOut).toEqual(['ban 192.0.2.2', 'ban 192.0.2.3', 'ban 192.0.2.5']);
    expect(store.deadLetters('fw', 10).map((letter) => [letter.address, letter.answer.replace(/^@\S+ /, '')])).toEqual([
      ['192.0.2.4', 'error refused: jail web is not permitted here'],
      ['192.0.2.1', 'error refused: jail web is not permitted here'],
    ]);
    // Said once per request, at warning, and never as "unreachable".
    expect(warnings.map((warning) => warning.message)).toEqual([
      expect.stringContaining('refused a request for good: moved aside'),
      expect.stringContaining('refused a request for good: moved aside'),
    ]);
    // Nothing left to send: the next delivery opens no session.
    const sessions = firewall.sessions;
    expect(await deliverOutbox(context, target, send)).toMatchObject({ delivered: 0, left: 0, refused: [] });
    expect(firewall.sessions).toBe(sessions);
  });

  it('keeps 1,000 and more bans flowing behind a refused request (the batch size)', async () => {
    const store = openBanStore(':memory:');
    const { context } = contextWith(store);
    const { firewall, send } = fakeFirewall();
    queue(store, ['web', ...Array.from({ length: 1500 }, () => 'ssh')]);
    expect(await deliverOutbox(context, target, send)).toMatchObject({ delivered: 1500, left: 0 });
    expect(firewall.carriedOut.at(-1)).toBe('ban 192.0.2.1501');
    expect(store.deadLetterCounts()).toEqual(new Map([['fw', 1]]));
  });

  it('reads an earlier server\'s plain "error" refusals as refused for good', async () => {
    const store = openBanStore(':memory:');
    const { context } = contextWith(store);
    const { send } = fakeFirewall({ legacy: true });
    queue(store, ['web', 'ssh']);
    expect(await deliverOutbox(context, target, send)).toMatchObject({ delivered: 1, left: 0 });
    expect(store.deadLetterCounts().get('fw')).toBe(1);
  });

  it('keeps a request that failed and every later one queued, in order, until the firewall recovers', async () => {
    const store = openBanStore(':memory:');
    const { context, warnings } = contextWith(store);
    const { firewall, send } = fakeFirewall();
    queue(store, ['ssh', 'web', 'ssh', 'ssh']);
    firewall.carriedOut = [];
    firewall.broken = true;
    const failed = await deliverOutbox(context, target, send);
    expect(failed).toMatchObject({ delivered: 0, refused: [], left: 4 });
    expect(failed.failure).toMatch(/could not carry out @\S+ ban ssh 192\.0\.2\.1 now: .*error failed: recorded, but the kernel refused/);
    expect(warnings.at(-1)?.message).toBe('the firewall failed to carry out a request (it may pass): requests stay queued');
    expect(store.deadLetterCounts().size).toBe(0);

    firewall.reachable = false;
    const down = await deliverOutbox(context, target, send);
    expect(down).toMatchObject({ delivered: 0, left: 4, hint: expect.stringContaining('is sshd running') as unknown });
    expect(warnings.at(-1)?.message).toBe('firewall unreachable: requests stay queued');

    firewall.reachable = true;
    firewall.broken = false;
    expect(await deliverOutbox(context, target, send)).toMatchObject({ delivered: 3, left: 0 });
    expect(firewall.carriedOut).toEqual(['ban 192.0.2.1', 'ban 192.0.2.3', 'ban 192.0.2.4']);
    expect(store.deadLetterCounts().get('fw')).toBe(1);
  });
});
