import type { BuiltinFilter } from './builtin.js';

// What nginx writes before the message in a request's error-log line: the level, pid#tid and the
// connection number. In the daemon's own error.log the timestamp before it is the line's (log-line.ts
// takes it off); a message sent to syslog (error_log syslog:...) or to the journal keeps it.
const PREFIX = String.raw`\[error\] \d+#\d+: \*\d+ `;
const STAMP = String.raw`\d{4}/\d\d/\d\d \d\d:\d\d:\d\d `;
// After the address nginx writes the server name, the request line, the Host header and the Referer
// as the client sent them ('"' included): free text, pinned by the delimiter count before it.
const CLIENT = String.raw`, client: <ADDR>, server: .*`;

// The two basic-auth failures of ngx_http_auth_basic_module (nginx 1.22, the same since 0.x): a user
// the password file lacks, a password that does not match. nginx writes the user name raw ('"', spaces,
// a newline all as sent) but cuts it at its first ':', so a user name never holds one: the address is
// the one after the third ':' (the fifth with the timestamp), which nginx wrote. The password file's path
// is the administrator's; a path with a ':' in it is not matched. A newline in a user name breaks
// error.log's line, but what follows it can never start with nginx's timestamp (its first ':' ends the
// name), so a client writes no line of its own (no caveat, unlike mysqld-auth); the broken attempt is not
// counted there (the syslog form counts it), and such a name is no user of a password file anyway.
export const nginxHttpAuthFilter: BuiltinFilter = {
  name: 'nginx-http-auth',
  catches: "basic-auth failures in nginx's error.log: a user the password file lacks, a wrong password",
  reads: { file: '/var/log/nginx/error.log' },
  programs: ['nginx'],
  clientText: 'anywhere',
  delimiter: ':',
  rules: [
    { pattern: String.raw`${PREFIX}user "[^:]*": password mismatch${CLIENT}` },
    { pattern: String.raw`${PREFIX}user "[^:]*" was not found in "[^:]*"${CLIENT}` },
    // The same messages as nginx sends them to syslog, with its timestamp in front.
    { pattern: String.raw`${STAMP}${PREFIX}user "[^:]*": password mismatch${CLIENT}` },
    { pattern: String.raw`${STAMP}${PREFIX}user "[^:]*" was not found in "[^:]*"${CLIENT}` },
  ],
};
