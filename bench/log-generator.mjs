// A seeded generator of realistic OpenSSH 9.x auth.log lines: many attackers (IPv4 and IPv6, documentation
// ranges), legitimate users logging in and out, and injection attempts (user names that carry an address).
// Same seed, same file: the figures of two runs compare the same input.

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
