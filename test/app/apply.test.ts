import { describe, expect, it } from 'vitest';
import { fixtureFirewall } from '../helpers/fixture-firewall.js';
import { applyFailure, applyRuleset, familiesInUse } from '../../src/app/apply.js';
import type { Firewall } from '../../src/adapters/firewall.js';
import { layoutsFor } from '../../src/cli/context.js';
import { loadConfig } from '../../src/config/load.js';
import { XtbanError } from '../../src/core/errors.js';
import { scratchDir } from '../helpers/scratch.js';

const example = new URL('../../fixtures/config/example.toml', import.meta.url).pathname;
const applied = new URL('../../fixtures/iptables/applied', import.meta.url).pathname;

describe('applyRuleset', () => {
  it('restores nothing when the captured tables already hold every jail', async () => {
    const config = await loadConfig(example);
    const firewall = fixtureFirewall(applied);
    const { plans, failures } = await applyRuleset(config, layoutsFor(config, 100), firewall, { dryRun: false });
    expect(failures).toEqual([]);
    expect(plans.map((plan) => [plan.family, plan.script])).toEqual([
      [4, ''],
      [6, ''],
    ]);
    expect(firewall.restored).toEqual([]);
  });

  it('on an empty table, a dry run hands the full batch to the firewall and checks nothing more', async () => {
    const config = await loadConfig(example);
    const firewall = fixtureFirewall(scratchDir('xtban-empty-'));
    await applyRuleset(config, layoutsFor(config, 100), firewall, { dryRun: true });
    expect(firewall.restored.map((batch) => batch.family)).toEqual([4, 6]);
    expect(firewall.restored[1]?.script).toContain('--name xtban-ssh.v6 --mask ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
    expect(firewall.restored[1]?.script).not.toContain('xtban-web');
  });

  it('fails with exit 3 when the table still differs after a restore, for each family on its own', async () => {
    const config = await loadConfig(example);
    // A fixture never changes: the restore "succeeds" and the table stays empty, as if another program undid it.
    const firewall = fixtureFirewall(scratchDir('xtban-stuck-'));
    const { plans, failures } = await applyRuleset(config, layoutsFor(config, 100), firewall, { dryRun: false });
    expect(plans).toEqual([]);
    expect(failures.map((failure) => failure.family)).toEqual([4, 6]);
    expect(failures[0]?.error).toBeInstanceOf(XtbanError);
    expect(failures[0]?.error.exitCode).toBe(3);
    expect(failures[0]?.error.message).toContain('IPv4 ruleset still differs after apply: chain xtban-ssh is missing');
    expect(applyFailure(failures)?.message).toMatch(/^IPv4: .*; IPv6: /);
  });

  it('applies one family when the other is refused', async () => {
    const config = await loadConfig(example);
    const firewall = fixtureFirewall(applied);
    // IPv4's iptables-restore refuses the batch; IPv6 goes on and is applied.
    const refusing: Firewall = {
      ...firewall,
      save: async (family) => (family === 4 ? '*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n' : firewall.save(family)),
      restore: async (family, script) => {
        if (family === 4) throw new XtbanError('iptables-restore: line 3 failed', { exitCode: 3 });
        return firewall.restore(family, script);
      },
    };
    const { plans, failures } = await applyRuleset(config, layoutsFor(config, 100), refusing, { dryRun: false });
    expect(failures.map((failure) => [failure.family, failure.error.message])).toEqual([[4, 'iptables-restore: line 3 failed']]);
    expect(plans.map((plan) => plan.family)).toEqual([6]);
  });

  it('only touches the families some jail takes', async () => {
    const config = await loadConfig(example);
    expect(familiesInUse({ ...config, jails: config.jails.filter((jail) => jail.name === 'web') })).toEqual([4]);
  });
});
