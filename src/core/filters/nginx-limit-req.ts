import type { BuiltinFilter } from './builtin.js';

// limit_req_log_level chooses the level of a refusal (error by default); a delayed request is logged
// one level lower, as "delaying request, ...", and is not counted.
const PREFIX = String.raw`\[(?:error|warn|notice|info)\] \d+#\d+: \*\d+ `;
// The timestamp a message sent to syslog (error_log syslog:...) or to the journal keeps.
const STAMP = String.raw`\d{4}/\d\d/\d\d \d\d:\d\d:\d\d `;
const REFUSED = String.raw`limiting requests, excess: \d+\.\d+ by zone "[^:]*", client: <ADDR>, server: .*`;

// Requests limit_req refused (nginx 1.22: "limiting requests, excess: 2.958 by zone "one", client: ...").
// Nothing before the address is the client's: the zone is the administrator's, and nginx ends a zone's
// name at its first ':' (zone=NAME:SIZE), so the address is the one after the third ':' (the fifth with
// the timestamp). limit_req_dry_run's "limiting requests, dry run, excess: ..." refuses nothing and is
// not counted.
export const nginxLimitReqFilter: BuiltinFilter = {
  name: 'nginx-limit-req',
  catches: 'requests limit_req refused (not those it only delayed, not its dry runs)',
  reads: { file: '/var/log/nginx/error.log' },
  programs: ['nginx'],
  clientText: 'after-address',
  delimiter: ':',
  rules: [{ pattern: `${PREFIX}${REFUSED}` }, { pattern: `${STAMP}${PREFIX}${REFUSED}` }],
};
