import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.js';
import { listSizeAdvice } from '../../src/core/list-size.js';

const config = parseConfigText(
  '[jails.ssh]\nwindow = "1h"\n\n[jails.web]\nwindow = "1h"\ncapacity = 10000\n\n[jails.big]\nwindow = "1h"\ncapacity = 100000\n',
  'size.toml',
);

describe('listSizeAdvice', () => {
  it('says nothing when ip_list_tot already gives every jail one list', () => {
    const advice = listSizeAdvice(config.jails, 100_000, 'module');
    expect(advice).toMatchObject({ current: 100_000, wanted: undefined, sharded: [], conf: undefined, takesEffect: undefined });
  });

  it('names the jails with shards and the value that gives each one list, as a modprobe.d line', () => {
    const advice = listSizeAdvice(config.jails, 100, 'module');
    expect(advice.sharded).toEqual([
      { jail: 'web', capacity: 10_000, shards: 128 },
      { jail: 'big', capacity: 100_000, shards: 2048 },
    ]);
    expect(advice.wanted).toBe(100_000);
    expect(advice.conf?.split('\n').filter((line) => !line.startsWith('#'))).toEqual(['options xt_recent ip_list_tot=100000', '']);
  });

  it('says how the new value takes effect: the kernel command line when built in, the next load of a module, never a reload behind the administrator', () => {
    expect(listSizeAdvice(config.jails, 100, 'builtin').takesEffect).toMatch(
      /built into this kernel.*xt_recent\.ip_list_tot=100000 to the kernel command line.*reboot/,
    );
    const loaded = listSizeAdvice(config.jails, 100, 'module').takesEffect;
    expect(loaded).toMatch(/next load/);
    expect(loaded).toMatch(/no rule names a recent list/);
    expect(loaded).toMatch(/xtban never reloads the module itself/);
    expect(listSizeAdvice(config.jails, 100, 'absent').takesEffect).toMatch(/not loaded/);
  });

  it('leaves out jails that ban on their central firewalls only', () => {
    const remote = parseConfigText(
      '[remotes.fw]\nhost = "fw.example"\n\n[jails.web]\nwindow = "1h"\ncapacity = 10000\nremote = ["fw"]\nremote_only = true\n',
      'r.toml',
    );
    expect(listSizeAdvice(remote.jails, 100, 'module').wanted).toBeUndefined();
  });
});
