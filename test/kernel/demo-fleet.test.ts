// npm run demo:fleet, as a user runs it: it must narrate to the end, with every check it makes true
// (it exits non-zero at the first connection that is not what it says), and leave no namespace behind.
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { describeKernel } from './helpers/netns.js';

const DEMO = fileURLToPath(new URL('../../scripts/demo-fleet.mjs', import.meta.url));

describeKernel('the fleet demo', () => {
  it('drops the attacker on every host, catches host3 up, and cleans up', async () => {
    const result = await execa(process.execPath, [DEMO], { reject: false, all: true, timeout: 120_000 });
    expect(result.exitCode, result.all).toBe(0);
    expect(result.all).toMatch(/host2 drops 203\.0\.113\.66/);
    expect(result.all).toMatch(/host3 drops 203\.0\.113\.66/);
    expect(result.all).toMatch(/203\.0\.113\.77 -> host3 \(198\.51\.100\.13:2222\): open[\s\S]*203\.0\.113\.77 -> host3 \(198\.51\.100\.13:2222\): dropped/);
    expect(result.all).toMatch(/Done: nothing is left behind/);
    const namespaces = await execa('ip', ['netns', 'list']);
    expect(namespaces.stdout).not.toMatch(/xtb-demo-/);
  }, 150_000);
});
