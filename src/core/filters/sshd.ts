import type { FilterSpec } from '../filter.js';

// OpenSSH 9.x failure messages. Each takes the address from where sshd writes the peer, after any
// user name, with only fixed words after it, so a user name such as "x from 192.0.2.7 port 22" cannot
// choose the address (the client's offer, after the address, is a word that cannot begin with one:
// its first character that is not a hex digit is not '.' or ':'). OpenSSH 9.8 moved authentication
// into sshd-session (and 10.x into sshd-auth).
export const sshdFilter: FilterSpec = {
  name: 'sshd',
  programs: ['sshd', 'sshd-session', 'sshd-auth'],
  patterns: [
    String.raw`Failed (?:password|publickey|keyboard-interactive/pam|hostbased|none) for (?:invalid user )?.* from <ADDR> port \d+ ssh2(?:: [A-Z0-9-]+ SHA256:[A-Za-z0-9+/=]+)?`,
    String.raw`Invalid user .* from <ADDR> port \d+`,
    String.raw`Connection (?:closed|reset) by (?:authenticating|invalid) user .* <ADDR> port \d+ \[preauth\]`,
    String.raw`Disconnected from (?:authenticating|invalid) user .* <ADDR> port \d+ \[preauth\]`,
    String.raw`error: maximum authentication attempts exceeded for (?:invalid user )?.* from <ADDR> port \d+ ssh2 \[preauth\]`,
    String.raw`Disconnecting (?:authenticating|invalid) user .* <ADDR> port \d+: Too many authentication failures \[preauth\]`,
    String.raw`User .* from <ADDR> not allowed because (?:not listed in AllowUsers|listed in DenyUsers|not in any group|a group is listed in DenyGroups|none of user's groups are listed in AllowGroups)`,
    String.raw`error: PAM: Authentication failure for (?:illegal user )?.* from <ADDR>`,
    String.raw`PAM \d+ more authentication failures?; logname=\S* uid=\d+ euid=\d+ tty=\S* ruser=\S* rhost=<ADDR>(?:  user=\S*)?`,
    String.raw`Unable to negotiate with <ADDR> port \d+: no matching (?:key exchange method|host key type|cipher|MAC) found\. Their offer: [0-9A-Fa-f]*[^ 0-9A-Fa-f:.][^ ]* \[preauth\]`,
    String.raw`banner exchange: Connection from <ADDR> port \d+: invalid format`,
    String.raw`Did not receive identification string from <ADDR> port \d+`,
  ],
  ignore: [],
  // sshd writes the user name before the address; the one pattern with text after it (PAM's user=) has
  // fixed text before <ADDR> all the same.
  clientText: 'before-address',
};

// Filters that ship with xtban, by name.
export const BUILTIN_FILTERS: ReadonlyMap<string, FilterSpec> = new Map([[sshdFilter.name, sshdFilter]]);
