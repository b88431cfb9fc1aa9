// The dovecot filter against a real dovecot 2.3 in fw: IMAP and POP3 clients in attacker fail to log in
// (curl, and the raw client for names curl cannot send), over IPv4 and IPv6, and put the innocent
// addresses into every user name; a second client logs in correctly. `xtban scan` over dovecot's own
// log file, then over what it sent to syslog (as rsyslog and journald keep it), finds the attacker's
// addresses, never an innocent one, never the good client.
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
  startSyslogReceiver,
  type SyslogReceiver,
  USER,
  waitForMessages,
  waitForLines,
  writeSyslogForms,
} from '../helpers/daemons-mail.js';
import { createTopology, describeKernel, type Topology } from '../helpers/netns.js';
import { workDir } from '../helpers/work.js';

const work = workDir('dovecot');

// The names dovecot's own lines make tempting: its login line's fields, its auth line's form, and a
// whole forged line of each after a newline.
const OWN = [
  `x>, method=PLAIN, rip=${INNOCENT.ipv4}, lip=192.0.2.1, session=<abc>`,
  `x,${INNOCENT.ipv4},<abc>): unknown user`,
  `x,${INNOCENT.ipv6}): Password mismatch`,
  `x\nDec 03 06:14:01 imap-login: Info: Disconnected: Connection closed (auth failed, 1 attempts in 2 secs): user=<a>, method=PLAIN, rip=${INNOCENT.ipv4}, lip=192.0.2.1, session=<abc>`,
  `x\nDec 03 06:14:01 auth: Info: passwd-file(a,${INNOCENT.ipv6},<abc>): unknown user`,
];

// The login process's line for a failed connection (the real one: its address is the peer's).
const LOGIN_FAILED = /\(auth failed, \d+ attempts in \d+ secs\): user=<.*>, method=\w+, rip=192\.0\.2\.2|rip=2001:db8::2, lip/;

describeKernel('dovecot filter against a real dovecot', () => {
  let topology: Topology;
  let receiver: SyslogReceiver | undefined;
  let dovecot: Daemon | undefined;
  const dir = join(work, 'dovecot');
  let etc: string;

  beforeAll(async () => {
    openDir(work);
    topology = await createTopology('dovecot');
    await topology.addAttackerAddresses([GOOD_CLIENT]);
    receiver = await startSyslogReceiver(topology, work);
    etc = etcWithUser(work);
  });
  afterAll(async () => {
    await dovecot?.stop();
    await receiver?.stop();
    await topology?.destroy();
  });

  // Every failure from the attacker and the good client's login, at once (dovecot delays each failure
  // by two seconds and more); the number of failed connections.
  async function attack(names: readonly string[]): Promise<number> {
    const { fw } = topology.addresses;
    const failures: [Parameters<typeof login>[1], string, string, 'PLAIN' | 'LOGIN' | undefined][] = [
      ['imap', fw.ipv4, USER.name, 'PLAIN'],
      ['imap', fw.ipv4, 'bob', 'LOGIN'],
      ['pop3', fw.ipv4, 'bob', undefined],
      ['imap', fw.ipv6, 'bob', 'PLAIN'],
      ...names.map((name, i): [Parameters<typeof login>[1], string, string, 'PLAIN' | undefined] => [i % 2 === 0 ? 'imap' : 'pop3', fw.ipv4, name, 'PLAIN']),
    ];
    const results = await Promise.all([
      ...failures.map(([proto, host, user, mech]) => login(topology, proto, host, user, 'wrong', mech ? { mech } : {})),
      login(topology, 'imap', fw.ipv4, USER.name, USER.password, { mech: 'PLAIN', from: GOOD_CLIENT }),
    ]);
    const good = results.pop();
    expect(good?.ok, good?.detail).toBe(true);
    for (const result of results) expect(result.ok, result.detail).toBe(false);
    return failures.length;
  }

  it("counts the attacker's failed IMAP and POP3 logins in dovecot's log file, never an address in a user name, never a good login", async () => {
    dovecot = await startDovecot(topology, dir, receiver as SyslogReceiver, etc, 'file', { anyUserName: true });
    const log = join(dir, 'dovecot.log');
    const failed = await attack(injectedNames(OWN));
    // Each failed connection ends with one login-process line, written when it closes.
    await waitForLines(log, LOGIN_FAILED, failed);
    await waitForLines(log, 'Login: user=<alice>');
    await dovecot.stop();
    dovecot = undefined;
    captureFixtures('dovecot', { 'dovecot.log': log });

    const result = await scan(topology, 'dovecot', [log]);
    expectOnlyAttacker(result, topology, readFileSync(log, 'utf8'));
    const attacker = result.addresses.find((entry) => entry.address === topology.addresses.attacker.ipv4);
    // At least the login line of every failed IPv4 connection; the auth process adds its own.
    expect(attacker?.matches).toBeGreaterThanOrEqual(failed - 1);
  }, 180_000);

  it('reads the same from what dovecot sends to syslog, as rsyslog writes it and as journald keeps it', async () => {
    const before = (receiver as SyslogReceiver).count();
    dovecot = await startDovecot(topology, dir, receiver as SyslogReceiver, etc, 'syslog');
    const failed = await attack([
      `x rip=${INNOCENT.ipv4}`,
      `x\nDec 03 06:14:01 imap-login: Info: Disconnected (auth failed, 1 attempts): user=<a>, rip=${INNOCENT.ipv4}`,
    ]);
    await waitForMessages(receiver as SyslogReceiver, before, LOGIN_FAILED, failed);
    await waitForMessages(receiver as SyslogReceiver, before, 'Login: user=<alice>');
    await dovecot.stop();
    dovecot = undefined;
    const forms = writeSyslogForms(receiver as SyslogReceiver, before, openDir(join(work, 'syslog-forms')));
    captureFixtures('dovecot', { 'syslog.log': forms.syslog, 'journal.json': forms.journal, 'datagrams.jsonl': forms.datagrams });
    for (const file of [forms.syslog, forms.journal]) expectOnlyAttacker(await scan(topology, 'dovecot', [file]), topology, readFileSync(file, 'utf8'));
  }, 180_000);
});
