// The postfix-sasl filter against a real postfix 3.7 in fw, authenticating through a real dovecot's
// SASL socket: SMTP clients in attacker fail AUTH PLAIN and AUTH LOGIN (curl, and the raw client for
// names curl cannot send), over IPv4 and IPv6, and put the innocent addresses into every user name; a
// second client authenticates correctly. `xtban scan` over postfix's maillog_file, then over what
// postfix sends to syslog (as rsyslog and journald keep it), finds the attacker's addresses, never an
// innocent one, never the good client.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  captureFixtures,
  etcWithUser,
  expectOnlyAttacker,
  GOOD_CLIENT,
  INNOCENT,
  injectedNames,
  login,
  openDir,
  type Daemon,
  scan,
  startDovecot,
  startPostfix,
  startSyslogReceiver,
  type SyslogReceiver,
  USER,
  waitForLines,
  waitForMessages,
  writeSyslogForms,
} from '../helpers/daemons-mail.js';
import { createTopology, describeKernel, type Topology } from '../helpers/netns.js';
import { workDir } from '../helpers/work.js';

const work = workDir('postfix');

// The names postfix's own line makes tempting: a host name and its bracket, the name postfix appends,
// and a whole forged line after a newline.
const OWN = [
  `x]: SASL PLAIN authentication failed: unknown[${INNOCENT.ipv4}]`,
  `unknown[${INNOCENT.ipv4}]: SASL LOGIN authentication failed: x`,
  `x, sasl_username=[${INNOCENT.ipv6}]`,
  `x\nDec  3 06:14:01 mail postfix/smtpd[1]: warning: unknown[${INNOCENT.ipv4}]: SASL PLAIN authentication failed: (reason unavailable), sasl_username=a`,
  `x\r\nDec 03 06:14:01 mail postfix/smtpd[1]: warning: [${INNOCENT.ipv6}]: SASL LOGIN authentication failed: x`,
];

// postfix smtpd's line for a failed AUTH from the attacker (its address is the peer's).
const SASL_FAILED = /postfix\/smtpd\[\d+\]: warning: unknown\[(?:192\.0\.2\.2|2001:db8::2)\]: SASL/;

describeKernel('postfix-sasl filter against a real postfix', () => {
  let topology: Topology;
  let receiver: SyslogReceiver | undefined;
  let dovecot: (Daemon & { log: string; authSocket: string }) | undefined;
  let postfix: Daemon | undefined;
  const dir = join(work, 'postfix');
  const dovecotDir = join(work, 'dovecot');

  beforeAll(async () => {
    openDir(work);
    topology = await createTopology('postfix');
    await topology.addAttackerAddresses([GOOD_CLIENT]);
    receiver = await startSyslogReceiver(topology, work);
    // dovecot as the SASL server, with its own log file: the auth process's lines of these attempts
    // are kept as well (fixtures/logs/postfix-sasl/dovecot.log).
    dovecot = await startDovecot(topology, dovecotDir, receiver, etcWithUser(work), 'file');
  }, 60_000);
  afterAll(async () => {
    await postfix?.stop();
    await dovecot?.stop();
    await receiver?.stop();
    await topology?.destroy();
  });

  // Every failed AUTH from the attacker and the good client's AUTH, at once (dovecot delays each
  // failure by two seconds and more); the number of failed connections.
  async function attack(names: readonly string[]): Promise<number> {
    const { fw } = topology.addresses;
    const failures: [string, string, 'PLAIN' | 'LOGIN'][] = [
      [fw.ipv4, USER.name, 'PLAIN'],
      [fw.ipv4, 'bob', 'LOGIN'],
      [fw.ipv4, 'bob', 'PLAIN'],
      [fw.ipv6, 'bob', 'PLAIN'],
      ...names.map((name, i): [string, string, 'PLAIN' | 'LOGIN'] => [fw.ipv4, name, i % 2 === 0 ? 'PLAIN' : 'LOGIN']),
    ];
    const results = await Promise.all([
      ...failures.map(([host, user, mech]) => login(topology, 'smtp', host, user, 'wrong', { mech })),
      login(topology, 'smtp', fw.ipv4, USER.name, USER.password, { mech: 'PLAIN', from: GOOD_CLIENT }),
    ]);
    const good = results.pop();
    expect(good?.ok, good?.detail).toBe(true);
    for (const result of results) expect(result.ok, result.detail).toBe(false);
    return failures.length;
  }

  it("counts the attacker's failed SMTP AUTH in postfix's maillog_file, never an address in a user name, never a good login", async () => {
    postfix = await startPostfix(topology, dir, receiver as SyslogReceiver, (dovecot as { authSocket: string }).authSocket, 'file');
    const log = join(dir, 'mail.log');
    const failed = await attack(injectedNames(OWN));
    await waitForLines(log, SASL_FAILED, failed);
    await waitForLines(log, /disconnect from unknown\[192\.0\.2\.3\] .*auth=1/);
    await postfix.stop();
    postfix = undefined;
    captureFixtures('postfix-sasl', { 'mail.log': log, 'dovecot.log': (dovecot as { log: string }).log });

    const result = await scan(topology, 'postfix-sasl', [log]);
    expectOnlyAttacker(result, topology, readFileSync(log, 'utf8'));
    // One line per failed connection, and nothing else.
    expect(result.addresses.reduce((sum, entry) => sum + entry.matches, 0)).toBe(failed);
  }, 180_000);

  it('reads the same from what postfix sends to syslog, as rsyslog writes it and as journald keeps it', async () => {
    const before = (receiver as SyslogReceiver).count();
    postfix = await startPostfix(topology, dir, receiver as SyslogReceiver, (dovecot as { authSocket: string }).authSocket, 'syslog');
    const failed = await attack([
      `x rip=${INNOCENT.ipv4}`,
      `x\nDec  3 06:14:01 mail postfix/smtpd[1]: warning: unknown[${INNOCENT.ipv4}]: SASL PLAIN authentication failed: x`,
    ]);
    await waitForMessages(receiver as SyslogReceiver, before, /^warning: unknown\[(?:192\.0\.2\.2|2001:db8::2)\]: SASL/, failed);
    await waitForMessages(receiver as SyslogReceiver, before, /disconnect from unknown\[192\.0\.2\.3\] .*auth=1/);
    await postfix.stop();
    postfix = undefined;
    const forms = writeSyslogForms(receiver as SyslogReceiver, before, openDir(join(work, 'syslog-forms')));
    captureFixtures('postfix-sasl', { 'syslog.log': forms.syslog, 'journal.json': forms.journal, 'datagrams.jsonl': forms.datagrams });
    for (const file of [forms.syslog, forms.journal]) {
      const result = await scan(topology, 'postfix-sasl', [file]);
      expectOnlyAttacker(result, topology, readFileSync(file, 'utf8'));
      expect(result.addresses.reduce((sum, entry) => sum + entry.matches, 0)).toBe(failed);
    }
  }, 180_000);
});
