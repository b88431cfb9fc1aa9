import type { BuiltinFilter } from './builtin.js';

// postfix smtpd's failed SASL authentications, from the lines postfix 3.7 wrote in the tests
// (fixtures/logs/postfix-sasl/): "warning: unknown[192.0.2.2]: SASL PLAIN authentication failed:
// (reason unavailable), sasl_username=alice", in its maillog_file and in syslog as postfix/smtpd
// (postfix/submission/smtpd and postfix/smtps/smtpd for Debian's submission and smtps services). The
// reason is the SASL server's (dovecot's here; Cyrus writes the challenge it sent, "UGFzc3dvcmQ6"), and
// postfix 3.x appends the name the client gave, after the address: so the address is pinned from the
// start, by the '[' before it. The client's host name before it is its verified reverse name or
// "unknown", and postfix takes a name only when it is a valid host name (smtpd_peer.c): never a '['.
export const postfixSaslFilter: BuiltinFilter = {
  name: 'postfix-sasl',
  catches: 'failed SMTP AUTH (SASL PLAIN, LOGIN, CRAM-MD5, ...) at postfix smtpd, whatever the SASL server (dovecot, Cyrus)',
  reads: { file: '/var/log/mail.log', journal: { identifier: 'postfix/smtpd' } },
  programs: ['postfix/smtpd', 'postfix/submission/smtpd', 'postfix/smtps/smtpd'],
  clientText: 'after-address',
  delimiter: '[',
  rules: [{ pattern: String.raw`warning: [^[\s]+\[<ADDR>\]: SASL [A-Za-z0-9-]+ authentication failed: .*` }],
  // The SASL server went away: the client did nothing wrong (the reason is the server's, written before
  // anything of the client's).
  ignore: [
    String.raw`warning: [^[\s]+\[[0-9A-Fa-f:.]+\]: SASL [A-Za-z0-9-]+ authentication failed: Connection lost to authentication server(?:, sasl_username=.*)?`,
  ],
};
