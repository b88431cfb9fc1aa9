// ip_list_tot raised the way xtban tells an administrator to, on Debian's stock kernel, where xt_recent is
// a loadable module (on this machine's kernel it may be built in, where only a boot parameter changes it).
// The kernel boots in a throwaway VM (helpers/stock-kernel-vm.mjs); helpers/stock-kernel-reload.sh runs
// inside: apply under the default, bans, teardown, the module reloaded from the /etc/modprobe.d file apply
// wrote, apply and restore, then real packets. The VM's writes are lost with it; nothing here touches
// this machine's own modprobe.d or firewall.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRoot } from './helpers/netns.js';
import { runInStockKernel, stockKernelMissing } from './helpers/stock-kernel-vm.mjs';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const BANS = 10_000;

// Root and the VM's parts, or why not: a skip with the reason, a failure under CI=true.
function gate(): string | undefined {
  const root = requireRoot();
  if (root.skip) return root.reason;
  return stockKernelMissing();
}

const missing = gate();
const suite = missing === undefined ? describe : process.env.CI === 'true' ? describe : describe.skip;
if (missing !== undefined && process.env.CI !== 'true')
  console.warn(`\n*** stock-kernel test skipped: ${missing}. To run it: sudo bash scripts/setup.sh && sudo npm run test:kernel\n`);

// The packets of one rule of an iptables-save -c dump.
function packets(save: string, rule: RegExp): number[] {
  return save
    .split('\n')
    .map((line) => /^\[(\d+):\d+\] (.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null && rule.test(match[2] ?? ''))
    .map((match) => Number(match[1]));
}

suite('on a stock kernel, ip_list_tot from the modprobe.d file apply writes gives a jail of 10,000 one list', () => {
  let work: string;
  let out: string;
  const read = (name: string) => readFileSync(join(out, name), 'utf8');
  const json = (name: string) => JSON.parse(read(name));

  beforeAll(async () => {
    if (missing !== undefined) throw new Error(`${missing}\nCI=true: a skipped kernel layer is a failure.`);
    work = mkdtempSync(join(tmpdir(), 'xtban-stock-kernel-'));
    const script = `REPO=${JSON.stringify(repo)}\nBANS=${BANS}\n${readFileSync(join(repo, 'test/kernel/helpers/stock-kernel-reload.sh'), 'utf8')}`;
    const run = await runInStockKernel(script, { work, timeoutMs: 840_000 });
    out = run.out;
    expect(run.exitCode, `${run.output}\n${run.serial.slice(-2000)}`).toBe(0);
  }, 900_000);
  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('with the module not loaded yet, apply writes the value and loads the module with it: one list a family at once', () => {
    expect(read('module-at-boot').trim()).toBe('absent');
    expect(read('ip-list-tot-0').trim()).toBe('10000');
    expect(read('lists-0').trim().split('\n').sort()).toEqual(['xtban-web', 'xtban-web.v6']);
    const applied = json('apply-0.json');
    expect(applied.listSize).toMatchObject({ ipListTot: 10_000, sharded: [], loaded: { path: '/etc/modprobe.d/xtban.conf', ipListTot: 10_000, ok: true } });
  });

  it('under the module default, apply shards the jail, writes the value that gives it one list, and says it takes effect at the next load', () => {
    expect(read('ip-list-tot-1').trim()).toBe('100');
    expect(read('modprobe-conf')).toMatch(/^options xt_recent ip_list_tot=10000$/m);
    const status = json('status-1.json');
    expect(status.capacity).toMatchObject({ ipListTot: 100, wanted: 10_000, loading: 'module', sharded: [{ jail: 'web', capacity: 10_000, shards: 128 }] });
    expect(status.capacity.takesEffect).toMatch(/next load/);
    // HZ from /boot/config-<version>, where Debian installs it (a fit to the uptime is not reliable in an
    // emulated VM).
    expect(status.clock.method.hz).toBe('boot-config');
    // 128 shards and a spill list, a family.
    expect(Number(read('lists-1'))).toBe(2 * 129);
  });

  it('after the reload the module has the value, and apply and restore put every ban into one list a family', () => {
    expect(read('ip-list-tot-2').trim()).toBe('10000');
    const applied = json('apply-2.json');
    expect(applied).toMatchObject({ failed: [], missingLists: [] });
    expect(read('lists-2').trim().split('\n').sort()).toEqual(['xtban-web', 'xtban-web.v6']);
    // apply's own restore put every ban back; the restore after it found them all in place.
    expect(applied.restore).toMatchObject({ restored: 2 * BANS, noRoom: [], failed: [] });
    expect(json('restore.json')).toMatchObject({ restored: 0, alreadyPresent: 2 * BANS });
    expect(read('list-entries-2').trim().split('\n').sort()).toEqual([`xtban-web ${BANS}`, `xtban-web.v6 ${BANS}`]);
    const status = json('status-2.json');
    expect(status.capacity).toMatchObject({ ipListTot: 10_000, sharded: [] });
    expect(status.capacity.wanted).toBeNull();
  });

  it('real packets: every banned source is dropped by the one list, every other source passes', () => {
    expect(read('sent').trim()).toBe('800');
    for (const [dump, list] of [
      ['iptables-save', 'xtban-web'],
      ['ip6tables-save', 'xtban-web.v6'],
    ] as const) {
      const save = read(dump);
      const drops = packets(save, new RegExp(`^-A xtban-web .*-m recent --update .*--name ${list.replace('.', '\\.')} .*-j DROP$`));
      expect(drops).toEqual([200]);
      expect(packets(save, /^-A INPUT -p tcp -m tcp --dport 8080$/)).toEqual([200]);
    }
  });
});
