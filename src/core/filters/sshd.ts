import type { BuiltinFilter } from './builtin.js';

// A fingerprint as sshd writes it after "ssh2: ": the key type and SHA256:base64; for a certificate
// (ED25519-CERT) also its ID, serial and CA. The ID is the certificate's, chosen by whoever signed it:
// a word whose first character that is not a hex digit is not '.' or ':', so it cannot begin with an
// address (an ID that does is not matched; the connection's other lines still count).
const FINGERPRINT = String.raw`[A-Z0-9-]+ SHA256:[A-Za-z0-9+/=]+`;
const CERTIFICATE = String.raw`[A-Z0-9-]+-CERT SHA256:[A-Za-z0-9+/=]+ ID [0-9A-Fa-f]*[^ 0-9A-Fa-f:.][^ ]* \(serial \d+\) CA [A-Z0-9-]+ SHA256:[A-Za-z0-9+/=]+`;
const AUTHENTICATING = '(?:authenticating|invalid) user';
// sshd names the level of an error on syslog ("error: ..."), not in a file of its own (-E, log.c).
const ERROR = '(?:error: )?';

// OpenSSH's failure messages, 7.4 (RHEL 7) to 9.x; 9.8 moved authentication into sshd-session (and 10.x
// into sshd-auth). Each takes the address where sshd writes the peer, after any user name, with only
// fixed words after it, so a user name such as "x from 192.0.2.7 port 22" cannot choose the address
// (the client's offer, after the address, is a word that cannot begin with one). The few messages
// with a client's text after the address (a disconnect reason) have only fixed text before it.
// Read against the real OpenSSH 9.2 (test/kernel/filters/sshd.test.ts, fixtures/logs/sshd/); the lines
// of other versions are in fixtures/logs/sshd/variants.log with the source file that writes them.
// pam_unix's own "authentication failure; ... rhost=ADDR" is not counted: sshd's line for the same
// attempt follows it ("Failed password", "PAM: Authentication failure"), for keyboard-interactive it
// comes from the PAM subprocess (another pid, so it would count twice), and a PAM stack whose pam_unix
// fails before another module succeeds writes it for a successful login.
export const sshdFilter: BuiltinFilter = {
  name: 'sshd',
  catches:
    'failed ssh logins: passwords, keys, certificates, keyboard-interactive, invalid and refused users, PAM failures (mode ddos: also connections that never authenticate; aggressive: also negotiation failures and disconnects)',
  reads: { file: '/var/log/auth.log', journal: { identifier: 'sshd' } },
  programs: ['sshd', 'sshd-session', 'sshd-auth'],
  clientText: 'before-address',
  modes: ['normal', 'ddos', 'aggressive'],
  rules: [
    // One attempt each.
    {
      pattern: String.raw`Failed (?:password|publickey|keyboard-interactive(?:/pam)?|hostbased|none|gssapi-with-mic) for (?:invalid user )?.* from <ADDR> port \d+ ssh2(?:: ${FINGERPRINT}|: ${CERTIFICATE})?`,
    },
    // An attempt that the "Failed ..." line of the same process confirms: counted once. sshd writes
    // "Invalid user" and "not allowed because" once a connection, before its first attempt, whose
    // "Failed ... for invalid user" follows; "PAM: Authentication failure" once an answer to
    // keyboard-interactive, followed by "Failed keyboard-interactive/pam" only at LogLevel VERBOSE, for
    // an invalid user, or from the MaxAuthTries/2th failure on (auth.c).
    {
      pattern: String.raw`User .* from <ADDR> not allowed because (?:not listed in AllowUsers|listed in DenyUsers|not in any group|a group is listed in DenyGroups|none of user's groups are listed in AllowGroups|account is locked)`,
      role: 'announce',
    },
    { pattern: String.raw`Invalid user .* from <ADDR>(?: port \d+)?`, role: 'announce' },
    {
      pattern: String.raw`${ERROR}PAM: Authentication failure for (?:illegal user )?.* from <ADDR>(?: via [0-9A-Fa-f]*[^ 0-9A-Fa-f:.][^ ]*)?`,
      role: 'announce',
    },
    // The end of a connection: an attempt only if none of its lines counted already (keys offered and
    // refused leave nothing else; after failed passwords it adds nothing).
    { pattern: String.raw`Connection (?:closed|reset) by ${AUTHENTICATING} .* <ADDR> port \d+ \[preauth\]`, role: 'close' },
    { pattern: String.raw`Disconnected from ${AUTHENTICATING} .* <ADDR> port \d+ \[preauth\]`, role: 'close' },
    { pattern: String.raw`${ERROR}maximum authentication attempts exceeded for (?:invalid user )?.* from <ADDR> port \d+ ssh2 \[preauth\]`, role: 'close' },
    { pattern: String.raw`Disconnecting ${AUTHENTICATING} .* <ADDR> port \d+: Too many authentication failures \[preauth\]`, role: 'close' },
    {
      pattern: String.raw`Disconnecting ${AUTHENTICATING} .* <ADDR> port \d+: Change of username or service not allowed: \([^ ]*\) -> \([^ ]*\) \[preauth\]`,
      role: 'close',
    },
    {
      // pam_unix ends the line with a space when the user is unknown.
      pattern: String.raw`PAM \d+ more authentication failures?; logname=\S* uid=\d+ euid=\d+ tty=\S* ruser=\S* rhost=<ADDR>(?: |  user=\S*)?`,
      role: 'close',
    },
    // JSch (Java clients, scanners built on it) says why it gave up; the reason is the client's text.
    // sshd logs a disconnect for any reason but 11 (by application) at level error (packet.c).
    {
      pattern: String.raw`${ERROR}Received disconnect from <ADDR> port \d+:3: .*Auth fail \[preauth\]`,
      role: 'close',
      clientText: 'after-address',
    },
    // ddos: connections that never reach authentication.
    { pattern: String.raw`Did not receive identification string from <ADDR>(?: port \d+)?`, modes: ['ddos', 'aggressive'] },
    // Banner garbage, or an SSH-1 client ("Protocol major versions differ: 2 vs. 1" before it).
    {
      pattern: String.raw`banner exchange: Connection from <ADDR> port \d+: (?:invalid format|could not read protocol version)`,
      modes: ['ddos', 'aggressive'],
    },
    { pattern: String.raw`Bad protocol version identification '.*' from <ADDR>(?: port \d+)?`, modes: ['ddos', 'aggressive'] },
    // A client that sends nothing at all leaves "Connection closed by ADDR port N" without [preauth] in
    // OpenSSH 8 and later (after "kex_exchange_identification: Connection closed by remote host", which
    // names no address): not counted, since at LogLevel VERBOSE the same line ends a logged-in user's
    // dropped connection (serverloop.c). One that sent its identification and left has [preauth].
    { pattern: String.raw`Connection (?:closed|reset) by <ADDR> port \d+ \[preauth\]`, role: 'close', modes: ['ddos', 'aggressive'] },
    { pattern: String.raw`Disconnected from <ADDR> port \d+ \[preauth\]`, role: 'close', modes: ['ddos', 'aggressive'] },
    // aggressive: also failed negotiation and a client's own disconnect before authenticating.
    {
      pattern: String.raw`Unable to negotiate with <ADDR> port \d+: no matching (?:key exchange method|host key type|cipher|MAC) found\. Their offer: [0-9A-Fa-f]*[^ 0-9A-Fa-f:.][^ ]* \[preauth\]`,
      modes: ['aggressive'],
    },
    {
      pattern: String.raw`${ERROR}Received disconnect from <ADDR> port \d+:14: No (?:supported )?authentication methods available \[preauth\]`,
      modes: ['aggressive'],
      clientText: 'after-address',
    },
    { pattern: String.raw`Received disconnect from <ADDR> port \d+:11: .*\[preauth\]`, role: 'close', modes: ['aggressive'], clientText: 'after-address' },
  ],
};
