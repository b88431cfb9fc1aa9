// The apache-auth filter against a real apache 2.4 in fw (mpm_event, Debian's default error-log format):
// curl in attacker fails basic and digest auth over IPv4 and IPv6, uses the wrong scheme, sends digest
// headers apache refuses, asks for what Require refuses, and puts the innocent addresses into every
// field it controls (basic and digest user names, the path, the Host header, the User-Agent, the
// Referer); a second client logs in correctly with both schemes. `xtban scan` over the error.log as
// written finds the attacker's two addresses only.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  basicAuth,
  captureFixtures,
  curl,
  type Daemon,
  GOOD_CLIENT,
  INNOCENT,
  openDir,
  type ScanResult,
  scan,
  startApache,
  USER,
  waitForLines,
  writeHtpasswd,
} from '../helpers/daemons-web.js';
import { createTopology, describeKernel, type Topology } from '../helpers/netns.js';
import { workDir } from '../helpers/work.js';

const work = workDir('apache-auth');
const dir = join(work, 'apache');
const errorLog = join(dir, 'error.log');
const accessLog = join(dir, 'access.log');
const REALM = 'realm1';

// Basic-auth user names built on apache's own words around the address (apache cuts the name at its
// first ':'), the last ones with a newline and a whole forged line, and bytes apache escapes.
const NAMES = [
  `x from ${INNOCENT.ipv4} port 22`,
  `x] [client ${INNOCENT.ipv4}:1234] AH01618: user y`,
  `x'@'${INNOCENT.ipv4}`,
  `x rip=${INNOCENT.ipv4}`,
  `<x@${INNOCENT.ipv4}>`,
  INNOCENT.ipv4,
  `x [client ${INNOCENT.ipv6}:1]`,
  `x\n[Thu Dec 03 07:03:28.795406 2026] [auth_basic:error] [pid 1:tid 2] [client ${INNOCENT.ipv4}:1] AH01618: user y not found: /`,
  `x\n[auth_basic error] [client ${INNOCENT.ipv4} 1] AH01618 user y not found`,
  'a\x01b\xff"c',
];

// A digest Authorization header as curl writes it, with the fields given (a nonce of apache's form).
function digest(fields: { username: string; realm?: string; algorithm?: string; uri?: string }): string {
  const nonce = `${randomBytes(8).toString('base64')}${randomBytes(20).toString('hex')}`;
  const quoted = (text: string): string => `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  return [
    `Authorization: Digest username=${quoted(fields.username)}`,
    `realm=${quoted(fields.realm ?? REALM)}`,
    `nonce=${quoted(nonce)}`,
    `uri=${quoted(fields.uri ?? '/digest/')}`,
    `cnonce=${quoted(randomBytes(12).toString('base64'))}`,
    'nc=00000001',
    'qop=auth',
    `response=${quoted(randomBytes(16).toString('hex'))}`,
    `algorithm=${fields.algorithm ?? 'MD5'}`,
  ].join(', ');
}

function sorted(result: ScanResult): string[] {
  return result.addresses.map((entry) => entry.address).sort();
}

describeKernel('apache-auth filter against a real apache', () => {
  let topology: Topology;
  let apache: Daemon | undefined;
  let failedV4 = 0;
  let failedV6 = 0;

  beforeAll(async () => {
    openDir(work);
    topology = await createTopology('apacheauth');
    await topology.addAttackerAddresses([GOOD_CLIENT]);
    const html = join(dir, 'html');
    for (const sub of ['', 'private', 'private/bobonly', 'digest']) {
      openDir(join(html, sub));
      writeFileSync(join(html, sub, 'index.html'), 'hello\n', { mode: 0o644 });
    }
    mkdirSync(join(html, 'denied'), { recursive: true });
    await writeHtpasswd(topology, join(dir, 'htpasswd'));
    const ha1 = createHash('md5').update(`${USER.name}:${REALM}:${USER.password}`).digest('hex');
    writeFileSync(join(dir, 'htdigest'), `${USER.name}:${REALM}:${ha1}\n`, { mode: 0o644 });
    apache = await startApache(
      topology,
      dir,
      [
        `DocumentRoot ${html}`,
        '<Directory />',
        '  Require all denied',
        '</Directory>',
        `<Directory ${html}>`,
        '  Require all granted',
        '</Directory>',
        `<Directory ${html}/private>`,
        '  AuthType Basic',
        '  AuthName "restricted"',
        `  AuthUserFile ${join(dir, 'htpasswd')}`,
        '  Require valid-user',
        '</Directory>',
        `<Directory ${html}/private/bobonly>`,
        '  Require user bob',
        '</Directory>',
        `<Directory ${html}/digest>`,
        '  AuthType Digest',
        `  AuthName "${REALM}"`,
        '  AuthDigestDomain /digest/',
        `  AuthUserFile ${join(dir, 'htdigest')}`,
        '  Require valid-user',
        '</Directory>',
        '<Location /denied>',
        '  Require ip 198.51.100.0/24',
        '</Location>',
      ].join('\n'),
    );

    const { fw } = topology.addresses;
    const v4 = `http://${fw.ipv4}`;
    const v6 = `http://[${fw.ipv6}]`;
    const fail = async (url: string, args: readonly string[], status = 401): Promise<void> => {
      expect(await curl(topology, url, args), `${url} ${args.join(' ')}`).toBe(status);
      if (url.startsWith(v6)) failedV6++;
      else failedV4++;
    };
    // mod_auth_basic: a wrong password, a user the file lacks, a scheme it does not take.
    await fail(`${v4}/private/`, ['-u', `${USER.name}:wrong`]);
    await fail(`${v4}/private/`, ['-u', 'bob:wrong']);
    await fail(`${v4}/private/`, ['-H', 'Authorization: Digest username="x"']);
    await fail(`${v6}/private/`, ['-u', 'bob:wrong']);
    await fail(`${v6}/private/`, ['-u', `${USER.name}:wrong`]);
    // mod_auth_digest: the same, a realm and an algorithm it does not use, the wrong scheme.
    await fail(`${v4}/digest/`, ['--digest', '-u', `${USER.name}:wrong`]);
    await fail(`${v4}/digest/`, ['--digest', '-u', 'bob:wrong']);
    await fail(`${v4}/digest/`, ['-u', `${USER.name}:wrong`]);
    await fail(`${v4}/digest/`, ['-H', digest({ username: USER.name, realm: `x' but expected \`${INNOCENT.ipv4}` })]);
    await fail(`${v4}/digest/`, ['-H', digest({ username: `x from ${INNOCENT.ipv4} port 22`, algorithm: 'FOO' })]);
    // A digest user name may hold ':' (a quoted string): apache writes it whole.
    await fail(`${v4}/digest/`, ['-H', digest({ username: `x' in realm \`${REALM}' not found: / [client ${INNOCENT.ipv4}:1] AH01790: user \`y` })]);
    // mod_authz_core: a Require that refuses the client, and one that refuses a user who logged in.
    await fail(`${v4}/denied`, [], 403);
    await fail(`${v4}/private/bobonly/`, ['-u', `${USER.name}:${USER.password}`]);
    // The injections in user names, then the path, the Host header, the User-Agent and the Referer.
    for (const name of NAMES) await fail(`${v4}/private/`, ['-H', basicAuth(name, 'wrong')]);
    await fail(`${v4}/private/x"%20[client%20${INNOCENT.ipv4}:1]/"q`, ['-u', 'bob:wrong']);
    await fail(`${v4}/private/`, ['-u', 'bob:wrong', '-H', `Host: ${INNOCENT.ipv4}`]);
    await fail(`${v4}/private/`, [
      '-u',
      'bob:wrong',
      '-A',
      `ua [client ${INNOCENT.ipv4}:1]`,
      '-e',
      `http://r/", client: ${INNOCENT.ipv4} [client ${INNOCENT.ipv4}:1]`,
    ]);
    // The good client: a first request without credentials (a browser's), then the right ones, both schemes.
    expect(await curl(topology, `${v4}/private/`, [], GOOD_CLIENT)).toBe(401);
    expect(await curl(topology, `${v4}/private/`, ['-u', `${USER.name}:${USER.password}`], GOOD_CLIENT)).toBe(200);
    expect(await curl(topology, `${v4}/digest/`, ['--digest', '-u', `${USER.name}:${USER.password}`], GOOD_CLIENT)).toBe(200);

    await waitForLines(errorLog, /\[client (?:192\.0\.2\.2|2001:db8::2):\d+\] AH\d+: /, failedV4 + failedV6);
    await waitForLines(accessLog, `${GOOD_CLIENT} - ${USER.name} `, 2);
    await apache.stop();
    apache = undefined;
    captureFixtures('apache-auth', { 'error.log': errorLog, 'access.log': accessLog });
  }, 120_000);
  afterAll(async () => {
    await apache?.stop();
    await topology?.destroy();
  });

  it("escapes control characters in the message but not quotes or spaces, and cuts a basic user name at its first ':'", () => {
    const text = readFileSync(errorLog, 'utf8');
    expect(text).toMatch(
      /^\[[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d\.\d{6} \d{4}\] \[auth_basic:error\] \[pid \d+:tid \d+\] \[client 192\.0\.2\.2:\d+\] AH01617: user alice: authentication failure for "\/private\/": Password Mismatch$/m,
    );
    expect(text).toMatch(/\[client 2001:db8::2:\d+\] AH01618: user bob not found: \/private\/$/m);
    expect(text).toContain(`AH01618: user x from ${INNOCENT.ipv4} port 22 not found: /private/\n`);
    expect(text).toContain(`AH01618: user x] [client ${INNOCENT.ipv4} not found: /private/\n`);
    expect(text).toContain('AH01618: user x [client 2001 not found: /private/\n');
    // A newline is written as \n: no client text starts a line of its own.
    expect(text).toContain('AH01618: user x\\n[Thu Dec 03 07 not found: /private/\n');
    expect(text).toContain('AH01618: user a\\x01b\\xff"c not found: /private/\n');
    expect(text).toContain(
      `AH01790: user \`x' in realm \`${REALM}' not found: / [client ${INNOCENT.ipv4}:1] AH01790: user \`y' in realm \`${REALM}' not found: /digest/\n`,
    );
    expect(text).toContain(`AH01618: user bob not found: /private/x" [client ${INNOCENT.ipv4}:1]/"q\n`);
    expect(text).toContain(`AH01618: user bob not found: /private/, referer: http://r/", client: ${INNOCENT.ipv4} [client ${INNOCENT.ipv4}:1]\n`);
    for (const code of ['AH01614', 'AH01794', 'AH01781', 'AH01788', 'AH01789', 'AH01630', 'AH01631']) expect(text).toContain(`] ${code}: `);
    expect(text).not.toContain(`[client ${GOOD_CLIENT}:`);
  });

  it("counts the attacker's failures, never an innocent address, never the good client", async () => {
    const result = await scan(topology, 'apache-auth', [errorLog]);
    expect(sorted(result), readFileSync(errorLog, 'utf8')).toEqual(['192.0.2.2', '2001:db8::2']);
    expect(result.wouldBan.map((entry) => entry.address).sort()).toEqual(['192.0.2.2', '2001:db8::2']);
    expect(result.ambiguous).toBe(0);
    expect(result.unparsed).toBe(0);
    expect(result.addresses.find((entry) => entry.address === '192.0.2.2')?.matches).toBe(failedV4);
    expect(result.addresses.find((entry) => entry.address === '2001:db8::2')?.matches).toBe(failedV6);
  });
});
