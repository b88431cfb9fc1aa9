import type { BuiltinFilter } from './builtin.js';

// MariaDB's refused logins, from the lines MariaDB 10.11 wrote in the tests (fixtures/logs/mysqld-auth/):
// "4 [Warning] Access denied for user 'alice'@'192.0.2.2' (using password: YES)" in its error log
// (log_error, after the timestamp; log_warnings = 2, the default, writes them), and without the
// "(using password: ...)" for a user that does not exist. Under systemd without log_error, mariadbd's
// stderr is its journal entries (mariadbd), each line whole with its timestamp. The user name is the
// client's, before the address, with its quotes as they came; after the address only fixed words. A
// name with a newline breaks the line, and the rest is a line of the client's (see
// test/kernel/filters/mysqld-auth.test.ts): no pattern can tell it from MariaDB's own.
export const mysqldAuthFilter: BuiltinFilter = {
  name: 'mysqld-auth',
  catches: 'refused MariaDB/MySQL logins (wrong password, unknown user) by address; needs skip_name_resolve, or MariaDB writes host names',
  reads: { file: '/var/log/mysql/error.log', journal: { identifier: 'mariadbd' } },
  programs: ['mariadbd', 'mysqld'],
  clientText: 'before-address',
  caveat:
    'MariaDB writes a newline in a user name as it came, so a client can write whole log lines of its own and have an address of its choice banned: use it only where untrusted clients cannot reach the server, and safelist what must never be banned',
  rules: [
    {
      pattern: String.raw`(?:\d{4}-\d\d-\d\d {1,2}\d{1,2}:\d\d:\d\d )?\d+ \[Warning\] Access denied for user '.*'@'<ADDR>'(?: \(using password: (?:YES|NO)\))?`,
    },
  ],
};
