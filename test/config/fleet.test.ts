import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.js';
import { effectiveConfigToml } from '../../src/config/show.js';

const FLEET = '[fleet]\nname = "web1"\nservers = ["nats://10.0.0.5:4222", "tls://nats.example.org:4222"]\n';
const SHARED = '[jails.web]\nports = [443]\ntiers = ["1h", "1d"]\nfleet = true\n';

const parse = (text: string) => parseConfigText(text, 'fleet.toml');

describe('[fleet] config', () => {
  it('reads servers, name, credentials and TLS, and takes the longest shared window as the retention', () => {
    const config = parse(
      `${FLEET}user = "web1"\npassword_file = "/etc/xtban/fleet.password"\ntls_ca = "/etc/xtban/ca.pem"\n${SHARED}[jails.ssh]\nwindow = "7d"\n`,
    );
    expect(config.fleet).toEqual({
      name: 'web1',
      servers: ['nats://10.0.0.5:4222', 'tls://nats.example.org:4222'],
      auth: { kind: 'password', user: 'web1', passwordFile: '/etc/xtban/fleet.password' },
      tls: { ca: '/etc/xtban/ca.pem', cert: undefined, key: undefined },
      replicas: 1,
      // The ssh jail's 7 days do not count: it does not share.
      retentionSeconds: 86_400,
    });
    expect(config.jails.map((jail) => [jail.name, jail.fleet])).toEqual([
      ['web', true],
      ['ssh', false],
    ]);
  });

  it('takes an nkey seed or a creds file instead of a password, and a client certificate', () => {
    expect(parse(`${FLEET}nkey_seed_file = "/etc/xtban/web1.nk"\n${SHARED}`).fleet?.auth).toEqual({ kind: 'nkey', seedFile: '/etc/xtban/web1.nk' });
    const creds = parse(`${FLEET}creds_file = "/etc/xtban/web1.creds"\ntls_cert = "/c.pem"\ntls_key = "/k.pem"\n${SHARED}`).fleet;
    expect(creds?.auth).toEqual({ kind: 'creds', file: '/etc/xtban/web1.creds' });
    expect(creds?.tls).toEqual({ ca: undefined, cert: '/c.pem', key: '/k.pem' });
  });

  it('keeps a retention at least the longest shared window, and never under an hour by default', () => {
    expect(parse(`${FLEET}retention = "2d"\n${SHARED}`).fleet?.retentionSeconds).toBe(172_800);
    expect(parse(`${FLEET}[jails.web]\nwindow = "10m"\nfleet = true\n`).fleet?.retentionSeconds).toBe(3600);
  });

  it('shows [fleet] and the shared jails in the effective config, which loads back the same', () => {
    const config = parse(`${FLEET}creds_file = "/etc/xtban/web1.creds"\n${SHARED}`);
    const again = parse(effectiveConfigToml(config));
    expect(again.fleet).toEqual(config.fleet);
    expect(again.jails[0]?.fleet).toBe(true);
  });

  it.each([
    ['a name that is no DNS label', '[fleet]\nname = "Web.1"\nservers = ["nats://a:4222"]\n', /fleet\.name.*not a fleet host name/],
    ['a name with a subject wildcard', '[fleet]\nname = "web*"\nservers = ["nats://a:4222"]\n', /fleet\.name/],
    ['no server', '[fleet]\nname = "web1"\nservers = []\n', /fleet\.servers.*at least one server/],
    ['an http URL', '[fleet]\nname = "web1"\nservers = ["http://a:4222"]\n', /fleet\.servers\[0\].*http: is not nats: or tls:/],
    ['not a URL', '[fleet]\nname = "web1"\nservers = ["10.0.0.5:4222"]\n', /fleet\.servers\[0\].*is not a URL/],
    ['credentials in the URL', '[fleet]\nname = "web1"\nservers = ["nats://u:secret@a:4222"]\n', /no credentials in the URL/],
    ['a path in the URL', '[fleet]\nname = "web1"\nservers = ["nats://a:4222/x"]\n', /only a scheme, a host and a port/],
    ['two ways to authenticate', `${FLEET}user = "u"\npassword_file = "/p"\ncreds_file = "/c"\n`, /one way to authenticate/],
    ['a password file without a user', `${FLEET}password_file = "/p"\n`, /password_file needs user/],
    ['a user without a password file', `${FLEET}user = "u"\n`, /user needs password_file/],
    ['a relative path', `${FLEET}creds_file = "web1.creds"\n`, /fleet\.creds_file.*absolute path/],
    ['a certificate without its key', `${FLEET}tls_cert = "/c.pem"\n`, /both tls_cert and tls_key/],
    ['an unknown key', `${FLEET}server = "nats://a"\n`, /fleet\.server.*unknown key/i],
    ['replicas out of range', `${FLEET}replicas = 7\n`, /fleet\.replicas/],
    ['a retention shorter than a shared window', `${FLEET}retention = "30m"\n${SHARED}`, /fleet\.retention.*shorter than the longest window/],
  ])('refuses %s', (_what, text, message) => {
    expect(() => parse(text.includes('[jails.') ? text : `${text}[jails.ssh]\n`)).toThrow(message);
  });

  it('refuses a shared jail without [fleet], and a remote_only jail that shares', () => {
    expect(() => parse(SHARED)).toThrow(/jails\.web\.fleet.*needs a \[fleet\] table/);
    expect(() => parse(`${FLEET}[remotes.fw]\nhost = "fw"\n[jails.web]\nremote = ["fw"]\nremote_only = true\nfleet = true\n`)).toThrow(
      /remote_only jail bans nothing here/,
    );
  });
});
