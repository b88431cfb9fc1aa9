import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, resolveConfigPath } from '../../src/config/load.js';
import { parseConfigText } from '../../src/config/parse.js';
import { effectiveConfig, effectiveConfigToml } from '../../src/config/show.js';
import { XtbanError } from '../../src/core/errors.js';
import { scratchDir } from '../helpers/scratch.js';

const example = new URL('../../fixtures/config/example.toml', import.meta.url).pathname;

function problems(text: string): string {
  try {
    parseConfigText(text, 'test.toml');
  } catch (error) {
    expect(error).toBeInstanceOf(XtbanError);
    expect((error as XtbanError).exitCode).toBe(2);
    return (error as XtbanError).message;
  }
  throw new Error('config was accepted');
}

describe('config loading', () => {
  it('reads the example with every default applied', async () => {
    const config = await loadConfig(example);
    expect(config.backend).toBe('auto');
    const [ssh, web] = config.jails;
    expect(ssh).toEqual({
      name: 'ssh',
      chain: 'xtban-ssh',
      list: 'xtban-ssh',
      protocol: 'tcp',
      ports: ['22'],
      tierWindows: [3600],
      windowSeconds: 3600,
      capacity: undefined,
      mask: { 4: 32, 6: 128 },
      action: 'DROP',
      families: [4, 6],
      hooks: ['INPUT'],
      log: { prefix: 'xtban ssh: ', rate: '6/min' },
      maxretry: 5,
      findtimeSeconds: 600,
      sources: [],
      detect: undefined,
      remotes: [],
      remoteOnly: false,
      fleet: false,
    });
    expect(web).toMatchObject({
      list: 'web-offenders',
      ports: ['80', '443', '8000:8010'],
      windowSeconds: 600,
      families: [4],
      hooks: ['INPUT', 'FORWARD'],
      log: undefined,
    });
  });

  it('applies defaults to a minimal jail', () => {
    const config = parseConfigText('[jails.ssh]\n', 'min.toml');
    expect(config.jails[0]).toMatchObject({
      protocol: 'tcp',
      ports: [],
      windowSeconds: 3600,
      action: 'DROP',
      families: [4, 6],
      hooks: ['INPUT'],
      list: 'xtban-ssh',
      log: undefined,
    });
    expect(parseConfigText('[jails.ssh]\nlog = true\n', 'log.toml').jails[0]?.log).toEqual({ prefix: 'xtban ssh: ', rate: '6/min' });
  });

  it("takes postfix's syslog identifiers, which hold a '/', for journal sources and filters", () => {
    const config = parseConfigText(
      '[filters.mail]\nprograms = ["postfix/smtpd"]\npatterns = ["x <ADDR>"]\n[jails.mail]\n[[jails.mail.sources]]\ntype = "journal"\nidentifier = "postfix/submission/smtpd"\nfilter = "postfix-sasl"\n',
      'mail.toml',
    );
    expect(config.jails[0]?.sources[0]).toMatchObject({ type: 'journal', identifier: 'postfix/submission/smtpd', filter: 'postfix-sasl' });
    expect(config.filters.get('mail')?.programs).toEqual(['postfix/smtpd']);
  });

  it('prefers --config, then XTBAN_CONFIG, then the default path', () => {
    expect(resolveConfigPath('/a.toml', { XTBAN_CONFIG: '/b.toml' })).toBe('/a.toml');
    expect(resolveConfigPath(undefined, { XTBAN_CONFIG: '/b.toml' })).toBe('/b.toml');
    expect(resolveConfigPath(undefined, {})).toBe('/etc/xtban/xtban.toml');
  });

  it('names a missing file and says how to fix it', async () => {
    const error = await loadConfig('/nonexistent/xtban.toml').catch((caught: XtbanError) => caught);
    expect(error).toBeInstanceOf(XtbanError);
    expect((error as XtbanError).message).toBe('config /nonexistent/xtban.toml does not exist');
    expect((error as XtbanError).hint).toMatch(/--config PATH or set XTBAN_CONFIG/);
  });

  it('reports a TOML syntax error with its line', async () => {
    const dir = scratchDir('xtban-config-');
    const path = join(dir, 'broken.toml');
    await writeFile(path, '[jails.ssh]\nwindow = "1h\n');
    await expect(loadConfig(path)).rejects.toThrow(new RegExp(`config ${path}:2:`));
  });
});

describe('config errors name the key path and the bad value', () => {
  it.each([
    ['[jails.ssh]\nwindw = "1h"\n', 'jails.ssh.windw: unknown key'],
    ['[jails.ssh]\n[jail.web]\n', 'jail: unknown key'],
    ['[jails.ssh]\nwindow = "abc"\n', 'jails.ssh.window = "abc": "abc" is not a duration'],
    ['[jails.ssh]\nwindow = "0"\n', 'jails.ssh.window = "0": "0" must be longer than zero'],
    ['[jails.ssh]\nwindow = -1\n', 'jails.ssh.window = -1: -1 must be longer than zero'],
    ['[jails.ssh]\nwindow = "60d"\n', 'jails.ssh.window = "60d": longer than 4294967s'],
    ['[jails.ssh]\naction = "ACCEPT"\n', 'jails.ssh.action = "ACCEPT"'],
    ['[jails.ssh]\nprotocol = "icmp"\n', 'jails.ssh.protocol = "icmp"'],
    ['[jails.ssh]\nports = [0]\n', 'jails.ssh.ports[0] = 0: 0 is outside 1-65535'],
    ['[jails.ssh]\nports = [22]\nprotocol = "all"\n', 'jails.ssh.protocol = "all": ports need protocol "tcp" or "udp"'],
    ['[jails.ssh]\nhooks = ["OUTPUT"]\n', 'jails.ssh.hooks[0] = "OUTPUT"'],
    ['[jails.ssh]\nhooks = ["INPUT", "INPUT"]\n', 'jails.ssh.hooks'],
    ['[jails.ssh]\nfamily = "ipv5"\n', 'jails.ssh.family = "ipv5"'],
    ['[jails."my jail"]\n', 'not a valid jail name'],
    ['[jails."ssh;reboot"]\n', 'not a valid jail name'],
    [`[jails.${'a'.repeat(23)}]\n`, '28-character iptables chain name'],
    ['[jails.ssh]\nlist = "../etc"\n', 'jails.ssh.list = "../etc": "../etc" is not a valid list name'],
    ['[jails.ssh]\nlog = { prefix = "a\\"b" }\n', 'jails.ssh.log.prefix'],
    ['[jails.ssh]\nlog = { rate = "often" }\n', 'jails.ssh.log.rate = "often"'],
    ['[firewall]\nbackend = "pf"\n[jails.ssh]\n', 'firewall.backend = "pf"'],
    ['[firewall]\n', 'jails'],
    ['[jails]\n', 'at least one jail'],
    ['[jails.ssh]\n[jails.web]\nlist = "xtban-ssh"\n', 'jails.web.list = "xtban-ssh": list xtban-ssh is already used by jail ssh'],
    ['[jails.ssh]\nlist = "a.b"\n', 'jails.ssh.list = "a.b": no dots'],
    ['[jails.ssh]\nwindow = "1h"\ntiers = ["1h", "1d"]\n', 'jails.ssh.window = "1h": give either window or tiers'],
    ['[jails.ssh]\ntiers = []\n', 'jails.ssh.tiers'],
    ['[jails.ssh]\ntiers = ["1h", "x"]\n', 'jails.ssh.tiers[1] = "x": "x" is not a duration'],
    ['[jails.ssh]\ncapacity = 0\n', 'jails.ssh.capacity = 0'],
    ['[jails.ssh]\ncapacity = 1.5\n', 'jails.ssh.capacity = 1.5'],
    ['[jails.ssh]\nmask = { ipv4 = 33 }\n', 'jails.ssh.mask.ipv4 = 33'],
    ['[jails.ssh]\nmask = { ipv6 = 0 }\n', 'jails.ssh.mask.ipv6 = 0: a /0 mask would ban every address'],
    ['[safelist]\naddresses = ["192.0.2.0/33"]\n[jails.ssh]\n', 'safelist.addresses[0] = "192.0.2.0/33"'],
    ['[safelist]\naddresses = ["example.com"]\n[jails.ssh]\n', 'safelist.addresses[0] = "example.com"'],
    ['[safelist]\nfile = ["/x"]\n[jails.ssh]\n', 'safelist.file: unknown key'],
    ['[jails.ssh]\nmaxretry = 0\n', 'jails.ssh.maxretry = 0'],
    ['[jails.ssh]\nfindtime = "soon"\n', 'jails.ssh.findtime = "soon": "soon" is not a duration'],
    ['[jails.ssh]\n[[jails.ssh.sources]]\ntype = "pipe"\n', 'jails.ssh.sources[0].type'],
    ['[jails.ssh]\n[[jails.ssh.sources]]\ntype = "file"\npath = "auth.log"\n', 'jails.ssh.sources[0].path = "auth.log": an absolute path'],
    [
      '[jails.ssh]\n[[jails.ssh.sources]]\ntype = "file"\npath = "/var/log/auth.log"\nfilter = "nginx"\n',
      'jails.ssh.sources[0].filter = "nginx": no filter named nginx',
    ],
    ['[jails.ssh]\n[[jails.ssh.sources]]\ntype = "journal"\nunit = "ssh service"\n', 'jails.ssh.sources[0].unit = "ssh service"'],
    ['[jails.ssh]\ndetect = { hitcount = 1, seconds = "60s" }\n', 'jails.ssh.detect.hitcount = 1'],
    ['[jails.ssh]\ndetect = { hitcount = 70000, seconds = "60s" }\n', 'at most 65535'],
    ['[jails.ssh]\ndetect = { hitcount = 6, seconds = "200d" }\n', 'jails.ssh.detect.seconds = "200d": longer than 4294967s (49d)'],
    ['[filters.app]\npatterns = ["failed from <ADDR>.*"]\n[jails.ssh]\n', 'filters.app: filters.app.patterns[0]: "failed from <ADDR>.*" is unsafe'],
    ['[filters.app]\npatterns = ["no slot"]\n[jails.ssh]\n', 'has 0 <ADDR> slots'],
    ['[filters.sshd]\npatterns = ["x <ADDR>"]\n[jails.ssh]\n', 'sshd is a built-in filter'],
    ['[filters.app]\npattern = ["x <ADDR>"]\n[jails.ssh]\n', 'filters.app.pattern: unknown key'],
    ['[filters.app]\npatterns = ["x <ADDR>"]\nclient_text = "after"\n[jails.ssh]\n', 'filters.app.client_text'],
    ['[filters.app]\npatterns = ["x <ADDR> .*"]\ndelimiter = "::"\n[jails.ssh]\n', 'filters.app.delimiter'],
    ['[filters.app]\npatterns = ["x <ADDR> .*"]\ndelimiter = " "\n[jails.ssh]\n', 'filters.app.delimiter'],
    ['[filters.app]\npatterns = ["\\\\S+ from <ADDR> .*"]\nclient_text = "after-address"\n[jails.ssh]\n', 'can step over an address'],
    ['[filters.app]\npatterns = ["user .*: from: <ADDR> .*"]\ndelimiter = ":"\n[jails.ssh]\n', 'matches ":" and other characters too'],
    [
      '[filters.app]\npatterns = ["fail from <ADDR>"]\n[jails.ssh]\n[[jails.ssh.sources]]\ntype = "file"\npath = "/var/log/app.log"\nfilter = "app"\nmode = "ddos"\n',
      'filter app has no mode ddos (only the built-in sshd and dovecot filters have modes)',
    ],
    ['[jails.ssh]\n[[jails.ssh.sources]]\ntype = "file"\npath = "/var/log/auth.log"\nmode = "extreme"\n', 'jails.ssh.sources[0].mode'],
    ['[jails.ssh]\n[[jails.ssh.sources]]\ntype = "file"\npath = "/var/log/auth.log"\nformat = "csv"\n', 'jails.ssh.sources[0].format'],
    ['[filters.pam]\npatterns = [".* rhost=<ADDR>(?:  user=\\\\S*)?"]\n[jails.ssh]\n', 'can reach past the address'],
    ['[remotes.fw]\nhost = "-oProxyCommand=sh"\n[jails.ssh]\n', 'remotes.fw.host = "-oProxyCommand=sh": a host name, an address or an ssh_config Host alias'],
    ['[remotes.fw]\nhost = "fw example"\n[jails.ssh]\n', 'remotes.fw.host'],
    ['[remotes.fw]\nhost = "fw"\nkey = "id_ed25519"\n[jails.ssh]\n', 'remotes.fw.key = "id_ed25519": an absolute path'],
    ['[remotes.fw]\nhost = "fw"\nuser = "root;id"\n[jails.ssh]\n', 'remotes.fw.user'],
    ['[jails.ssh]\nremote = ["fw"]\n', 'jails.ssh.remote[0] = "fw": no remote named fw'],
    ['[jails.ssh]\nremote_only = true\n', 'jails.ssh.remote_only = true: remote_only needs at least one remote'],
  ])('%j', (text, expected) => {
    expect(problems(text)).toContain(expected);
  });
});

describe('serve keys', () => {
  it("reads each key's rights, and none means no key is granted more than its own bans", () => {
    expect(parseConfigText('[jails.ssh]\n', 'k.toml').serve).toEqual({ keys: {} });
    const config = parseConfigText(
      '[serve.keys.web1]\nrights = "own"\n[serve.keys.ops]\nrights = "full"\n[serve.keys.edge-2]\nrights = "ban-only"\n[jails.ssh]\n',
      'k.toml',
    );
    expect(config.serve.keys).toEqual({ web1: 'own', ops: 'full', 'edge-2': 'ban-only' });
    expect(parseConfigText(effectiveConfigToml(config), 'again.toml').serve).toEqual(config.serve);
  });

  it.each([
    ['[serve.keys.web1]\nrights = "all"\n', 'serve.keys.web1.rights = "all": not a right: use "own" (end only the bans this key made)'],
    ['[serve.keys.web1]\nrights = 1\n', 'serve.keys.web1.rights = 1: not a right'],
    ['[serve.keys.web1]\n', 'serve.keys.web1.rights: rights is required: "own"'],
    ['[serve.keys.web1]\nrights = "full"\njails = ["ssh"]\n', 'serve.keys.web1.jails: unknown key'],
    ['[serve.keys."web 1"]\nrights = "full"\n', 'key name: "web 1" is not a valid key name'],
    ['[serve.keys._x]\nrights = "full"\n', 'is not a valid key name'],
    ['[serve]\nrights = "full"\n', 'serve.rights: unknown key'],
  ])('refuses %j', (text, message) => {
    expect(problems(`${text}[jails.ssh]\n`)).toContain(message);
  });
});

describe('config show', () => {
  it('writes out every default, in TOML that loads back to the same config', async () => {
    const config = await loadConfig(example);
    const toml = effectiveConfigToml(config);
    expect(toml).toContain('backend = "auto"');
    expect(toml).toContain('hooks = [ "INPUT" ]');
    const again = parseConfigText(toml, 'roundtrip.toml');
    expect(again.jails).toEqual(config.jails);
    expect(effectiveConfig(config)['jails']).toHaveProperty('ssh.window_seconds', 3600);
    const tiered = parseConfigText(
      '[safelist]\naddresses = ["192.0.2.0/24"]\n[jails.ssh]\ntiers = ["1h", "1d"]\ncapacity = 500\nmask = { ipv4 = 24 }\n',
      't.toml',
    );
    const back = parseConfigText(effectiveConfigToml(tiered), 'again.toml');
    expect(back.jails).toEqual(tiered.jails);
    expect(back.safelist).toEqual(tiered.safelist);
    const sourced = parseConfigText(
      '[filters.app]\nprograms = ["app"]\npatterns = ["fail from <ADDR>"]\nclient_text = "before-address"\n[jails.ssh]\nmaxretry = 3\nfindtime = "5m"\ndetect = { hitcount = 6, seconds = 60 }\n[[jails.ssh.sources]]\ntype = "file"\npath = "/var/log/app.log"\nfilter = "app"\n[[jails.ssh.sources]]\ntype = "journal"\nunit = "ssh.service"\n[[jails.ssh.sources]]\ntype = "list"\npath = "/etc/shitlist"\n',
      's.toml',
    );
    const sourcedBack = parseConfigText(effectiveConfigToml(sourced), 'again.toml');
    expect(sourcedBack.jails).toEqual(sourced.jails);
    expect(sourcedBack.filters).toEqual(sourced.filters);
    expect(sourced.jails[0]?.sources).toEqual([
      { type: 'file', path: '/var/log/app.log', filter: 'app', mode: 'normal', format: 'auto' },
      { type: 'journal', unit: 'ssh.service', identifier: undefined, filter: 'sshd', mode: 'normal' },
      { type: 'list', path: '/etc/shitlist', permanent: true },
    ]);
  });
});

describe('config cache', () => {
  it('serves a validated config from the state directory while the file is unchanged, and revalidates when it changes', async () => {
    const dir = scratchDir('xtban-cache-');
    const path = join(dir, 'xtban.toml');
    await writeFile(path, '[jails.ssh]\nwindow = "1h"\n[remotes.fw]\nhost = "fw"\n[filters.app]\npatterns = ["x <ADDR>"]\n');
    const first = await loadConfig(path, dir);
    const cached = await loadConfig(path, dir);
    expect(cached).toEqual(first);
    expect(cached.remotes.get('fw')?.host).toBe('fw');
    expect(cached.filters.get('app')?.patterns).toEqual(['x <ADDR>']);
    // A change of one byte is a new config; a broken one is an error even with a cache present.
    await writeFile(path, '[jails.ssh]\nwindow = "2h"\n');
    expect((await loadConfig(path, dir)).jails[0]?.windowSeconds).toBe(7200);
    await writeFile(path, '[jails.ssh]\nwindw = "2h"\n');
    await expect(loadConfig(path, dir)).rejects.toThrow('jails.ssh.windw: unknown key');
    // A cache that does not match the file's hash is never used.
    await writeFile(join(dir, 'config-cache.json'), JSON.stringify({ version: 1, hash: 'forged', config: { source: path } }));
    await expect(loadConfig(path, dir)).rejects.toThrow('unknown key');
  });

  it('makes a missing state directory (mode 0700, not its parents) to keep the cache in, and does without one it cannot make', async () => {
    const dir = scratchDir('xtban-cache-');
    const path = join(dir, 'xtban.toml');
    await writeFile(path, '[jails.ssh]\n');
    const state = join(dir, 'state');
    await loadConfig(path, state);
    expect((await stat(state)).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(join(state, 'config-cache.json'), 'utf8')).config.jails[0].name).toBe('ssh');
    // A state directory whose parent is missing is not made, and the config still loads.
    const deep = join(dir, 'missing', 'state');
    expect((await loadConfig(path, deep)).jails[0]?.name).toBe('ssh');
    await expect(stat(join(dir, 'missing'))).rejects.toThrow('ENOENT');
  });
});
