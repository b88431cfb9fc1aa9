import type { BuiltinFilter } from './builtin.js';

// The session id dovecot 2.3 writes after the address: base64, no spaces, no '.' or ':'.
const SESSION = '<[A-Za-z0-9+/]+>';

// dovecot 2.3's failed logins, from the lines dovecot 2.3.19 wrote in the tests (fixtures/logs/dovecot/)
// in its own log_path file ("imap-login: Info: ...") and in syslog, where it is "dovecot" and the level
// is the priority ("imap-login: ..."). Two kinds of line: the login process's, when a connection that
// failed to authenticate ends (IMAP, POP3, and from dovecot's sources submission and managesieve), and
// with auth_verbose = yes the auth process's, once for every passdb that refused an attempt, whatever
// asked (a login process, or postfix through dovecot's SASL socket). Dovecot names the client
// before the address, and after it writes only its own fields; it writes a control character in a
// name as '?' and cuts a long name short.
export const dovecotFilter: BuiltinFilter = {
  name: 'dovecot',
  catches:
    'failed IMAP, POP3, submission and ManageSieve logins, once per connection (mode aggressive: also, with auth_verbose = yes, every refusal of a passdb, postfix SASL through dovecot included)',
  reads: { file: '/var/log/mail.log', journal: { identifier: 'dovecot' } },
  programs: ['dovecot'],
  clientText: 'before-address',
  // The auth process's lines name no connection that xtban could link (no pid in syslog, none in
  // dovecot's own file), and come once per passdb that refused: with the login process's line for the
  // same connection they would count one failure two or three times, and postfix's SASL failures
  // (postfix-sasl's) once more. So they count only in mode aggressive, for a jail that reads nothing else.
  modes: ['normal', 'aggressive'],
  rules: [
    // "imap-login: Info: Disconnected: Connection closed (auth failed, 1 attempts in 2 secs): user=<bob>,
    // method=PLAIN, rip=192.0.2.2, lip=192.0.2.1, session=<...>": the reason before the parenthesis is
    // dovecot's ("Disconnected", "Aborted login by logging out", "Disconnected: Inactivity"); ", TLS"
    // or ", secured" follow lip on a TLS connection (login_log_format_elements, dovecot's source).
    {
      pattern: String.raw`(?:imap|pop3|submission|managesieve)-login: (?:Info: )?(?:Disconnected|Aborted login)[^(]* \((?:auth failed, \d+ attempts(?: in \d+ secs)?|tried to use (?:disabled|disallowed) plaintext auth)\): user=<.*>, (?:method=[A-Z0-9-]+, )?rip=<ADDR>, lip=[0-9A-Fa-f:.]+(?:, (?:TLS|secured))?, session=${SESSION}`,
    },
    // "auth: Info: passwd-file(bob,192.0.2.2,<session>): unknown user" and "... Password mismatch"; the
    // session is absent for postfix's SASL requests. pam runs in an auth worker: "auth-worker(21536):
    // Info: conn unix:auth-worker (pid=21535,uid=106): auth-worker<1>: pam(bob,192.0.2.2,<session>):
    // pam_authenticate() failed: Authentication failure (Password mismatch?)"; the other failures PAM
    // names are from dovecot's passdb-pam.c and Linux-PAM's messages.
    {
      pattern: String.raw`auth(?:-worker\(\d+\))?: (?:Info: )?(?:conn unix:auth-worker \(pid=\d+,uid=\d+\): auth-worker<\d+>: )?[a-z][a-z0-9-]*\(.*,<ADDR>(?:,${SESSION})?\): (?:unknown user|Password mismatch|pam_authenticate\(\) failed: (?:Authentication failure \(Password mismatch\?\)|User not known to the underlying authentication module|Permission denied|Maximum number of tries exceeded))`,
      modes: ['aggressive'],
    },
  ],
};
