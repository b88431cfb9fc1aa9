// Seeded generators of realistic logs for the scan figures: OpenSSH 9.x auth.log lines (many attackers over
// IPv4 and IPv6 in documentation ranges, legitimate users logging in and out, injection attempts through
// user names), nginx's error.log and access.log (from the captured fixtures' lines when there are some).
// Same seed, same file: the figures of two runs compare the same input.
import { readFileSync } from 'node:fs';

// mulberry32: small, fast, good enough to shuffle a log.
export function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const USERS = ['root', 'admin', 'ubuntu', 'test', 'oracle', 'postgres', 'git', 'user', 'pi', 'ftp', 'guest', 'deploy'];
const LEGIT = ['alice', 'bob', 'carol'];
const MONTH = 'Nov';

function attacker(rnd) {
  if (rnd() < 0.2) return `2001:db8:${Math.floor(rnd() * 65536).toString(16)}::${Math.floor(rnd() * 65536).toString(16)}`;
  const nets = ['198.51.100', '203.0.113', '192.0.2'];
  return `${nets[Math.floor(rnd() * 3)]}.${1 + Math.floor(rnd() * 254)}`;
}

// Yields `count` lines, one second apart on average, starting Nov 1 00:00:00.
export function* sshdLog(count, seed = 42) {
  const rnd = random(seed);
  let seconds = 0;
  const attackers = Array.from({ length: 2000 }, () => attacker(rnd));
  for (let i = 0; i < count; i++) {
    seconds += rnd() < 0.5 ? 0 : 1;
    const day = 1 + Math.floor(seconds / 86400);
    const time = new Date(seconds * 1000).toISOString().slice(11, 19);
    const pid = 1000 + Math.floor(rnd() * 60000);
    const prefix = `${MONTH} ${String(day).padStart(2, ' ')} ${time} host sshd[${pid}]: `;
    const from = attackers[Math.floor(rnd() * attackers.length)];
    const port = 1024 + Math.floor(rnd() * 60000);
    const user = USERS[Math.floor(rnd() * USERS.length)];
    const pick = rnd();
    let message;
    if (pick < 0.3) message = `Failed password for invalid user ${user} from ${from} port ${port} ssh2`;
    else if (pick < 0.45) message = `Failed password for root from ${from} port ${port} ssh2`;
    else if (pick < 0.55) message = `Invalid user ${user} from ${from} port ${port}`;
    else if (pick < 0.65) message = `Connection closed by invalid user ${user} ${from} port ${port} [preauth]`;
    else if (pick < 0.7) message = `Disconnected from authenticating user root ${from} port ${port} [preauth]`;
    else if (pick < 0.72) message = `Failed password for invalid user from 192.0.2.255 port 22 from ${from} port ${port} ssh2`;
    else if (pick < 0.8) message = `Accepted publickey for ${LEGIT[Math.floor(rnd() * 3)]} from 192.0.2.10 port ${port} ssh2: ED25519 SHA256:Zl8qVvNw2H5k0yGmV4Mpr2bBqk3h8n0mWq1Hd2bQm6E`;
    else if (pick < 0.9) message = `pam_unix(sshd:session): session opened for user ${LEGIT[Math.floor(rnd() * 3)]}(uid=1000) by (uid=0)`;
    else if (pick < 0.95) message = `Received disconnect from 192.0.2.10 port ${port}:11: disconnected by user`;
    else message = `pam_unix(sshd:session): session closed for user ${LEGIT[Math.floor(rnd() * 3)]}`;
    yield prefix + message;
  }
}

// The lines of a captured fixture that carry a time and a client address, as templates (none when the
// fixture is not there): the generators below replay them with other addresses and times.
export function templates(path, pattern) {
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((line) => pattern.test(line));
}

// Attackers and legitimate clients of the web generators: documentation ranges, a fifth over IPv6, never
// the innocent addresses the captured injections carry.
const INNOCENT = ['203.0.113.9', '2001:db8::9'];
function clients(rnd, count) {
  return Array.from({ length: count }, () => {
    if (rnd() < 0.2) return `2001:db8:${Math.floor(rnd() * 65536).toString(16)}::${Math.floor(rnd() * 65536).toString(16)}`;
    return `${['198.51.100', '203.0.113'][Math.floor(rnd() * 2)]}.${1 + Math.floor(rnd() * 254)}`;
  }).filter((address) => !INNOCENT.includes(address));
}

const pad = (n) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// nginx's error.log, `count` lines from Dec 3 2026 00:00:00 on: basic-auth failures (the lines of
// fixtures/logs/nginx-http-auth/error.log when captured, with other addresses; else the brief's shapes),
// among files not found for legitimate clients and limit_req refusals. The innocent 203.0.113.9 of the
// captured injections is never a client.
export function* nginxErrorLog(count, seed = 42, captured = []) {
  const rnd = random(seed);
  const attackers = clients(rnd, 2000);
  const legit = clients(rnd, 200);
  const own = captured.filter((line) => /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[\w+\] .*, client: [0-9a-fA-F:.]+, /.test(line));
  const shapes = own.length > 0 ? own.map((line) => line.slice(20)) : [
    '[error] 8863#8863: *1 user "alice": password mismatch, client: 192.0.2.2, server: web.test, request: "GET / HTTP/1.1", host: "192.0.2.1"',
    '[error] 8863#8863: *1 user "admin" was not found in "/etc/nginx/.htpasswd", client: 192.0.2.2, server: web.test, request: "GET /admin/ HTTP/1.1", host: "192.0.2.1"',
    '[error] 8863#8863: *1 user "x from 203.0.113.9 port 22" was not found in "/etc/nginx/.htpasswd", client: 192.0.2.2, server: web.test, request: "GET / HTTP/1.1", host: "192.0.2.1"',
  ];
  let seconds = 0;
  for (let i = 0; i < count; i++) {
    seconds += rnd() < 0.5 ? 0 : 1;
    const at = new Date(Date.UTC(2026, 11, 3) + seconds * 1000);
    const stamp = `${at.getUTCFullYear()}/${pad(at.getUTCMonth() + 1)}/${pad(at.getUTCDate())} ${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`;
    const pick = rnd();
    const pid = 8000 + Math.floor(rnd() * 8);
    let message;
    if (pick < 0.4) {
      const shape = shapes[Math.floor(rnd() * shapes.length)];
      message = shape.replace(/, client: [0-9a-fA-F:.]+, /, `, client: ${attackers[Math.floor(rnd() * attackers.length)]}, `).replace(/^\[(\w+)\] \d+#\d+: \*\d+ /, `[$1] ${pid}#${pid}: *${i + 1} `);
    } else if (pick < 0.9) {
      message = `[error] ${pid}#${pid}: *${i + 1} open() "/var/www/html/favicon.ico" failed (2: No such file or directory), client: ${legit[Math.floor(rnd() * legit.length)]}, server: web.test, request: "GET /favicon.ico HTTP/1.1", host: "web.test", referrer: "https://web.test/"`;
    } else {
      message = `[error] ${pid}#${pid}: *${i + 1} limiting requests, excess: 10.${Math.floor(rnd() * 1000)} by zone "one", client: ${attackers[Math.floor(rnd() * attackers.length)]}, server: web.test, request: "GET / HTTP/1.1", host: "web.test"`;
    }
    yield `${stamp} ${message}`;
  }
}

// nginx's access.log in the combined format: ordinary pages (200, 304) for legitimate clients, and
// scanners' probes answered 404 (the request lines of fixtures/logs/nginx-botsearch/access.log when
// captured, else well-known probe paths), some with the innocent 203.0.113.9 in the path or user agent.
export function* nginxAccessLog(count, seed = 42, captured = []) {
  const rnd = random(seed);
  const attackers = clients(rnd, 2000);
  const legit = clients(rnd, 200);
  const own = captured.map((line) => /^\S+ \S+ \S+ \[[^\]]+\] (".*)$/.exec(line)?.[1]).filter((rest) => rest !== undefined && / 404 /.test(rest));
  const probes = own.length > 0 ? own : [
    '"GET /wp-login.php HTTP/1.1" 404 153 "-" "Mozilla/5.0"',
    '"GET /.env HTTP/1.1" 404 153 "-" "curl/7.88.1"',
    '"GET /phpmyadmin/index.php HTTP/1.1" 404 153 "-" "Mozilla/5.0 (X11; Linux x86_64)"',
    '"POST /xmlrpc.php HTTP/1.1" 404 153 "-" "Mozilla/5.0"',
    '"GET /cgi-bin/luci HTTP/1.1" 404 153 "-" "x from 203.0.113.9"',
    '"GET /wp-admin/203.0.113.9 HTTP/1.1" 404 153 "http://203.0.113.9/" "-"',
  ];
  const pages = ['/', '/index.html', '/about/', '/blog/2026/12/xtban', '/static/site.css', '/static/app.js', '/favicon.ico', '/robots.txt'];
  let seconds = 0;
  for (let i = 0; i < count; i++) {
    seconds += rnd() < 0.5 ? 0 : 1;
    const at = new Date(Date.UTC(2026, 11, 3) + seconds * 1000);
    const stamp = `[${pad(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())} +0000]`;
    if (rnd() < 0.3) {
      yield `${attackers[Math.floor(rnd() * attackers.length)]} - - ${stamp} ${probes[Math.floor(rnd() * probes.length)]}`;
    } else {
      const page = pages[Math.floor(rnd() * pages.length)];
      const status = page === '/robots.txt' && rnd() < 0.5 ? 404 : rnd() < 0.2 ? 304 : 200;
      yield `${legit[Math.floor(rnd() * legit.length)]} - - ${stamp} "GET ${page} HTTP/1.1" ${status} ${status === 200 ? 512 + Math.floor(rnd() * 20000) : 0} "https://web.test/" "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"`;
    }
  }
}
