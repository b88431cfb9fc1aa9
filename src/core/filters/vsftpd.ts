import type { BuiltinFilter } from './builtin.js';

// vsftpd 3.0's failed logins, from the lines vsftpd 3.0.3 wrote in the tests (fixtures/logs/vsftpd/):
// "[pid 20723] [alice] FAIL LOGIN: Client "::ffff:192.0.2.2"" in vsftpd.log (vsftpd_log_file, after
// its timestamp), and in syslog (syslog_enable) as vsftpd[20723] without the "[pid N] ". The user name is the client's, before the
// address, written as it came but for control characters and bytes beyond ASCII ('?'), so quotes and
// brackets in it are the client's too; after the address only the closing quote. Listening on IPv6
// (listen_ipv6, Debian's default), vsftpd writes an IPv4 client as ::ffff:a.b.c.d, which is that IPv4
// address.
export const vsftpdFilter: BuiltinFilter = {
  name: 'vsftpd',
  catches: 'failed FTP logins at vsftpd (wrong password, unknown user, anonymous refused)',
  reads: { file: '/var/log/vsftpd.log' },
  programs: ['vsftpd'],
  clientText: 'before-address',
  rules: [{ pattern: String.raw`(?:\[pid \d+\] )?\[.*\] FAIL LOGIN: Client "<ADDR>"` }],
};
