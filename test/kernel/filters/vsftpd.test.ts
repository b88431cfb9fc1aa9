// The vsftpd filter against a real vsftpd 3.0.3 in fw, listening on IPv6 as Debian ships it (an IPv4
// client is ::ffff:a.b.c.d in its log): FTP clients in attacker fail to log in (curl, and the raw
// client for names curl cannot send), over IPv4 and IPv6, and put the innocent addresses into every
// user name; a second client logs in correctly. `xtban scan` over vsftpd.log, then over what vsftpd
// sends to syslog (as rsyslog and journald keep it), finds the attacker's addresses (the IPv4 one as
// plain IPv4), never an innocent one, never the good client.
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
  startSyslogReceiver,
  startVsftpd,
  type SyslogReceiver,
  USER,
  waitForLines,
  waitForMessages,
  writeSyslogForms,
} from '../helpers/daemons-mail.js';
import { createTopology, describeKernel, type Topology } from '../helpers/netns.js';
import { workDir } from '../helpers/work.js';

const work = workDir('vsftpd');

// The names vsftpd's own line makes tempting: its bracket and quote around the address, and a whole
// forged line after a carriage return (a newline would end the FTP command itself).
const OWN = [
  `x] FAIL LOGIN: Client "${INNOCENT.ipv4}`,
  `x] FAIL LOGIN: Client "${INNOCENT.ipv4}"`,
  `x" [${INNOCENT.ipv6}] FAIL LOGIN: Client "::ffff:${INNOCENT.ipv4}`,
  `x\rThu Dec  3 06:14:01 2026 [pid 1] [a] FAIL LOGIN: Client "${INNOCENT.ipv4}"`,
  `x\x1b[2K\rThu Dec  3 06:14:01 2026 [pid 1] [a] FAIL LOGIN: Client "${INNOCENT.ipv6}"`,
];

// vsftpd's line for a failed login of the attacker (its address is the peer's).
const FAIL_LOGIN = /\] FAIL LOGIN: Client "(?:::ffff:192\.0\.2\.2|2001:db8::2)"$/;

describeKernel('vsftpd filter against a real vsftpd', () => {
  let topology: Topology;
  let receiver: SyslogReceiver | undefined;
  let vsftpd: Daemon | undefined;
  const dir = join(work, 'vsftpd');
  let etc: string;

  beforeAll(async () => {
    openDir(work);
    topology = await createTopology('vsftpd');
    await topology.addAttackerAddresses([GOOD_CLIENT]);
    receiver = await startSyslogReceiver(topology, work);
    etc = etcWithUser(work);
  });
  afterAll(async () => {
    await vsftpd?.stop();
    await receiver?.stop();
    await topology?.destroy();
  });

  // Every failed login from the attacker and the good client's login, at once; the number of failures.
  async function attack(names: readonly string[]): Promise<number> {
    const { fw } = topology.addresses;
    const failures: [string, string][] = [
      [fw.ipv4, USER.name],
      [fw.ipv4, 'bob'],
      [fw.ipv4, 'root'],
      [fw.ipv6, 'bob'],
      ...names.map((name): [string, string] => [fw.ipv4, name]),
    ];
    const results = await Promise.all([
      ...failures.map(([host, user]) => login(topology, 'ftp', host, user, 'wrong')),
      login(topology, 'ftp', fw.ipv4, USER.name, USER.password, { from: GOOD_CLIENT }),
    ]);
    const good = results.pop();
    expect(good?.ok, good?.detail).toBe(true);
    for (const result of results) expect(result.ok, result.detail).toBe(false);
    return failures.length;
  }

  it("counts the attacker's failed FTP logins in vsftpd.log, never an address in a user name, never a good login", async () => {
    vsftpd = await startVsftpd(topology, dir, receiver as SyslogReceiver, etc, 'file');
    const log = join(dir, 'vsftpd.log');
    const failed = await attack(injectedNames(OWN));
    await waitForLines(log, FAIL_LOGIN, failed);
    await waitForLines(log, `OK LOGIN: Client "::ffff:${GOOD_CLIENT}"`);
    await vsftpd.stop();
    vsftpd = undefined;
    captureFixtures('vsftpd', { 'vsftpd.log': log });

    const result = await scan(topology, 'vsftpd', [log]);
    expectOnlyAttacker(result, topology, readFileSync(log, 'utf8'));
    expect(result.addresses.reduce((sum, entry) => sum + entry.matches, 0)).toBe(failed);
  }, 180_000);

  it('reads the same from what vsftpd sends to syslog (syslog_enable), as rsyslog writes it and as journald keeps it', async () => {
    const before = (receiver as SyslogReceiver).count();
    vsftpd = await startVsftpd(topology, dir, receiver as SyslogReceiver, etc, 'syslog');
    const failed = await attack([`x rip=${INNOCENT.ipv4}`, `x\rThu Dec  3 06:14:01 2026 [pid 1] [a] FAIL LOGIN: Client "${INNOCENT.ipv4}"`]);
    await waitForMessages(receiver as SyslogReceiver, before, FAIL_LOGIN, failed);
    await waitForMessages(receiver as SyslogReceiver, before, `OK LOGIN: Client "::ffff:${GOOD_CLIENT}"`);
    await vsftpd.stop();
    vsftpd = undefined;
    const forms = writeSyslogForms(receiver as SyslogReceiver, before, openDir(join(work, 'syslog-forms')));
    captureFixtures('vsftpd', { 'syslog.log': forms.syslog, 'journal.json': forms.journal, 'datagrams.jsonl': forms.datagrams });
    for (const file of [forms.syslog, forms.journal]) {
      const result = await scan(topology, 'vsftpd', [file]);
      expectOnlyAttacker(result, topology, readFileSync(file, 'utf8'));
      expect(result.addresses.reduce((sum, entry) => sum + entry.matches, 0)).toBe(failed);
    }
  }, 180_000);
});
