import type { BuiltinFilter } from './builtin.js';

// What apache 2.4's default error-log format writes before the message: the module and level, the
// process and thread ([pid N] alone with the prefork MPM), and the client's address and port. The same
// in the daemon's own error.log (after the timestamp, which log-line.ts takes off) and in syslog (apache
// leaves the timestamp out there). All of it is apache's; the client's text (user names, the path, a
// realm, the Referer apache appends as ", referer: ...") comes after the address.
const PREFIX = String.raw`\[(?:auth_basic|auth_digest|auth_form|authz_core):error\] \[pid \d+(?::tid \d+)?\] \[client <ADDR>:\d+\] `;

// Authentication and authorization failures of apache 2.4 (2.4.71, Debian), by their message numbers.
// Produced against the real apache: AH01614, AH01617, AH01618 (mod_auth_basic), AH01781, AH01788,
// AH01789, AH01790, AH01794 (mod_auth_digest), AH01630, AH01631 (mod_authz_core). From the module's own
// message strings, not produced: AH01791 (a digest user the provider denies), AH01776 and AH01777 (a
// forged or replayed nonce), AH10560 (a qop RFC 2069 does not know), AH01807 and AH01808 (mod_auth_form).
// apache escapes control characters in the message (\n, \x01), so no client text breaks a line.
// Not counted: digest's "nonce expired" and "one-time-nonce already used" (a browser's normal renewal).
export const apacheAuthFilter: BuiltinFilter = {
  name: 'apache-auth',
  catches:
    "apache's basic, digest and form auth failures (AH01617, AH01618, AH01790, AH01794, ...), wrong auth schemes and requests Require refused, in its error.log",
  reads: { file: '/var/log/apache2/error.log' },
  programs: ['apache2', 'httpd'],
  clientText: 'after-address',
  rules: [
    // mod_auth_basic: "user alice: authentication failure for "/private/": Password Mismatch",
    // "user bob not found: /private/", "client used wrong authentication scheme: /private/".
    { pattern: String.raw`${PREFIX}AH01617: user .*: authentication failure for ".*": Password Mismatch.*` },
    { pattern: String.raw`${PREFIX}AH01618: user .* not found: .*` },
    { pattern: String.raw`${PREFIX}AH01614: client used wrong authentication scheme: .*` },
    // mod_auth_digest: "user `bob' in realm `realm1' not found: /digest/", "user alice: password
    // mismatch: /digest/", a realm or algorithm the server does not use, the wrong scheme.
    { pattern: String.raw`${PREFIX}AH0179[01]: user .* in realm .* (?:not found|denied by provider): .*` },
    { pattern: String.raw`${PREFIX}AH01794: user .*: password mismatch: .*` },
    { pattern: String.raw`${PREFIX}AH01788: realm mismatch - got .*` },
    { pattern: String.raw`${PREFIX}AH01789: unknown algorithm .*` },
    { pattern: String.raw`${PREFIX}AH01781: client used wrong authentication scheme .*` },
    { pattern: String.raw`${PREFIX}AH0177[67]: invalid nonce .*` },
    { pattern: String.raw`${PREFIX}AH10560: invalid or missing qop value .*` },
    // mod_auth_form (from its message strings).
    { pattern: String.raw`${PREFIX}AH0180[78]: user .*` },
    // mod_authz_core: a Require that refuses the client ("client denied by server configuration: PATH")
    // or an authenticated user ("user alice: authorization failure for "/private/bobonly/": ").
    { pattern: String.raw`${PREFIX}AH01630: client denied by server configuration: .*` },
    { pattern: String.raw`${PREFIX}AH01631: user .*: authorization failure for .*` },
  ],
};
