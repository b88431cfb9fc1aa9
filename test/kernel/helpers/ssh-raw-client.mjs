// A minimal SSH-2 client for the sshd filter tests: it sends what OpenSSH's own client refuses to (user
// names with a newline, a tab, a quote or raw bytes, a change of user name between two requests, a bare
// "none" request) and what no client sends (banner garbage, nothing at all). Run it inside a namespace:
//   node ssh-raw-client.mjs HOST PORT LOCAL_ADDRESS SPEC_JSON
// SPEC_JSON is one connection:
//   { "steps": [ { "user": "root", "method": "password", "password": "wrong" },
//                { "user": "x", "userHex": "78ff", "service": "ssh-connection",
//                  "method": "keyboard-interactive", "responses": ["wrong"] },
//                { "user": "y", "method": "none" } ],
//     "end": "disconnect" | "close",     // SSH_MSG_DISCONNECT first, or just the TCP close
//     "reasonCode": 11, "description": "bye",   // the SSH_MSG_DISCONNECT's (11: by application)
//     "raw": "GET / HTTP/1.0\r\n\r\n",   // instead of SSH: send these bytes, then close
//     "silentMs": 300,                   // instead of SSH: send nothing for this long, then close
//     "timeoutMs": 20000 }
// It prints one JSON line, { "server": "SSH-2.0-...", "results": ["failure", ...], "disconnect": "..." }, and
// exits 0; 2 on a timeout or a protocol error (the line then has "error"). Host keys are not verified:
// the server is the test's own. Key exchange curve25519-sha256, cipher aes128-ctr, MAC hmac-sha2-256,
// which OpenSSH 7.4 and later offer.
import { createCipheriv, createDecipheriv, createHash, createHmac, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes } from 'node:crypto';
import net from 'node:net';

const [host, port, localAddress, specText] = process.argv.slice(2);
const spec = JSON.parse(specText ?? '{}');
const IDENTIFICATION = 'SSH-2.0-xtban_test_1.0';
const MSG = { DISCONNECT: 1, IGNORE: 2, UNIMPLEMENTED: 3, DEBUG: 4, SERVICE_REQUEST: 5, SERVICE_ACCEPT: 6, KEXINIT: 20, NEWKEYS: 21, ECDH_INIT: 30, ECDH_REPLY: 31 };
const AUTH = { REQUEST: 50, FAILURE: 51, SUCCESS: 52, BANNER: 53, INFO_REQUEST: 60, INFO_RESPONSE: 61 };

const result = { server: undefined, results: [] };
function finish(code, error) {
  if (error !== undefined) result.error = error;
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(code);
}
setTimeout(() => finish(2, 'timeout'), spec.timeoutMs ?? 20_000).unref();

// ---- encoding ----
const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const str = (value) => {
  const b = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
  return Buffer.concat([u32(b.length), b]);
};
const byte = (n) => Buffer.from([n]);
const mpint = (raw) => {
  let i = 0;
  while (i < raw.length && raw[i] === 0) i++;
  let b = raw.subarray(i);
  if (b.length > 0 && (b[0] & 0x80) !== 0) b = Buffer.concat([byte(0), b]);
  return str(b);
};
class Reader {
  constructor(buffer) {
    this.b = buffer;
    this.at = 0;
  }
  byte() {
    return this.b[this.at++];
  }
  u32() {
    const n = this.b.readUInt32BE(this.at);
    this.at += 4;
    return n;
  }
  bytes() {
    const n = this.u32();
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  string() {
    return this.bytes().toString('utf8');
  }
}

// ---- transport ----
const socket = net.connect({ host, port: Number(port), ...(localAddress ? { localAddress } : {}) });
socket.on('error', (error) => finish(2, `socket: ${error.message}`));
let input = Buffer.alloc(0);
// Payloads received and not yet asked for, and the callers waiting for one.
const queue = [];
const waiters = [];
let closed = false;
socket.on('data', (chunk) => {
  input = Buffer.concat([input, chunk]);
  pump();
});
socket.on('close', () => {
  closed = true;
  pump();
});

// The transport's state in each direction: sequence number, cipher and MAC once keys are in use.
const out = { seq: 0, cipher: undefined, mac: undefined };
const inc = { seq: 0, decipher: undefined, mac: undefined, head: undefined };

function send(payload) {
  const block = out.cipher ? 16 : 8;
  let pad = block - ((5 + payload.length) % block);
  if (pad < 4) pad += block;
  const plain = Buffer.concat([u32(1 + payload.length + pad), byte(pad), payload, randomBytes(pad)]);
  const mac = out.mac ? createHmac('sha256', out.mac).update(u32(out.seq)).update(plain).digest() : Buffer.alloc(0);
  out.seq = (out.seq + 1) >>> 0;
  socket.write(Buffer.concat([out.cipher ? out.cipher.update(plain) : plain, mac]));
}

// Takes one whole packet's payload off the input, or undefined if it has not all arrived.
function takePacket() {
  if (!inc.decipher) {
    if (input.length < 4) return undefined;
    const length = input.readUInt32BE(0);
    if (input.length < 4 + length) return undefined;
    const packet = input.subarray(0, 4 + length);
    input = input.subarray(4 + length);
    inc.seq = (inc.seq + 1) >>> 0;
    return packet.subarray(5, 4 + length - packet[4]);
  }
  if (!inc.head) {
    if (input.length < 16) return undefined;
    inc.head = inc.decipher.update(input.subarray(0, 16));
    input = input.subarray(16);
  }
  const length = inc.head.readUInt32BE(0);
  const rest = 4 + length - 16;
  if (input.length < rest + 32) return undefined;
  const plain = Buffer.concat([inc.head, inc.decipher.update(input.subarray(0, rest))]);
  const mac = input.subarray(rest, rest + 32);
  input = input.subarray(rest + 32);
  inc.head = undefined;
  const expected = createHmac('sha256', inc.mac).update(u32(inc.seq)).update(plain).digest();
  inc.seq = (inc.seq + 1) >>> 0;
  if (!expected.equals(mac)) finish(2, 'bad MAC from the server');
  return plain.subarray(5, 4 + length - plain[4]);
}

let phase = 'banner';
function pump() {
  for (;;) {
    if (phase === 'banner') {
      const newline = input.indexOf(10);
      if (newline === -1) break;
      const line = input.subarray(0, newline).toString('latin1').replace(/\r$/, '');
      input = input.subarray(newline + 1);
      // Lines before the identification are allowed (RFC 4253 4.2); sshd sends none.
      if (line.startsWith('SSH-')) {
        result.server = line;
        phase = 'packets';
      }
      continue;
    }
    const payload = takePacket();
    if (payload === undefined) break;
    const type = payload[0];
    if (type === MSG.IGNORE || type === MSG.DEBUG || type === MSG.UNIMPLEMENTED || type === AUTH.BANNER) continue;
    if (type === MSG.DISCONNECT) {
      const r = new Reader(payload.subarray(1));
      const code = r.u32();
      result.disconnect = `${code}: ${r.string()}`;
      closed = true;
      break;
    }
    queue.push(payload);
  }
  while (waiters.length > 0 && queue.length > 0) waiters.shift()(queue.shift());
  if (closed) for (const waiter of waiters.splice(0)) waiter(undefined);
}

// The next packet the server sends (undefined once the connection is gone).
function receive() {
  return new Promise((resolve) => {
    waiters.push(resolve);
    pump();
  });
}

async function expect(type, what) {
  const payload = await receive();
  if (payload === undefined) throw new Error(`connection closed waiting for ${what}${result.disconnect ? ` (${result.disconnect})` : ''}`);
  if (payload[0] !== type) throw new Error(`expected ${what} (${type}), got message ${payload[0]}`);
  return payload;
}

async function waitForBanner() {
  while (phase === 'banner') {
    if (closed) throw new Error('connection closed before the server identified itself');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');

async function keyExchange() {
  const list = (names) => str(names);
  const clientKexinit = Buffer.concat([
    byte(MSG.KEXINIT),
    randomBytes(16),
    list('curve25519-sha256,curve25519-sha256@libssh.org'),
    list('ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256'),
    list('aes128-ctr'),
    list('aes128-ctr'),
    list('hmac-sha2-256'),
    list('hmac-sha2-256'),
    list('none'),
    list('none'),
    list(''),
    list(''),
    byte(0),
    u32(0),
  ]);
  send(clientKexinit);
  const serverKexinit = await expect(MSG.KEXINIT, 'KEXINIT');
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const clientPublic = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
  send(Buffer.concat([byte(MSG.ECDH_INIT), str(clientPublic)]));
  const reply = new Reader((await expect(MSG.ECDH_REPLY, 'KEX_ECDH_REPLY')).subarray(1));
  const hostKey = reply.bytes();
  const serverPublic = reply.bytes();
  const shared = diffieHellman({ privateKey, publicKey: createPublicKey({ key: Buffer.concat([X25519_SPKI, serverPublic]), format: 'der', type: 'spki' }) });
  const K = mpint(shared);
  const H = createHash('sha256')
    .update(Buffer.concat([str(IDENTIFICATION), str(result.server), str(clientKexinit), str(serverKexinit), str(hostKey), str(clientPublic), str(serverPublic), K]))
    .digest();
  send(byte(MSG.NEWKEYS));
  await expect(MSG.NEWKEYS, 'NEWKEYS');
  const derive = (letter, length) => createHash('sha256').update(K).update(H).update(letter).update(H).digest().subarray(0, length);
  out.cipher = createCipheriv('aes-128-ctr', derive('C', 16), derive('A', 16));
  out.mac = derive('E', 32);
  inc.decipher = createDecipheriv('aes-128-ctr', derive('D', 16), derive('B', 16));
  inc.mac = derive('F', 32);
}

// One authentication request and the server's answer to it: 'failure', 'partial', 'success', or
// 'disconnected' when the server ends the connection instead.
async function authenticate(step) {
  const user = step.userHex === undefined ? Buffer.from(step.user ?? '', 'utf8') : Buffer.from(step.userHex, 'hex');
  const head = [byte(AUTH.REQUEST), str(user), str(step.service ?? 'ssh-connection'), str(step.method)];
  if (step.method === 'password') send(Buffer.concat([...head, byte(0), str(step.password ?? '')]));
  else if (step.method === 'keyboard-interactive') send(Buffer.concat([...head, str(''), str('')]));
  else send(Buffer.concat(head));
  const responses = [...(step.responses ?? [])];
  for (;;) {
    const payload = await receive();
    if (payload === undefined) return 'disconnected';
    if (payload[0] === AUTH.FAILURE) {
      const r = new Reader(payload.subarray(1));
      r.string();
      return r.byte() ? 'partial' : 'failure';
    }
    if (payload[0] === AUTH.SUCCESS) return 'success';
    if (payload[0] === AUTH.INFO_REQUEST && step.method === 'keyboard-interactive') {
      const r = new Reader(payload.subarray(1));
      r.string();
      r.string();
      r.string();
      const prompts = r.u32();
      const answers = Array.from({ length: prompts }, () => str(responses.shift() ?? ''));
      send(Buffer.concat([byte(AUTH.INFO_RESPONSE), u32(prompts), ...answers]));
      continue;
    }
    throw new Error(`unexpected message ${payload[0]} during ${step.method}`);
  }
}

async function main() {
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  if (spec.raw !== undefined || spec.silentMs !== undefined) {
    if (spec.raw !== undefined) socket.write(Buffer.from(spec.raw, 'latin1'));
    await new Promise((resolve) => setTimeout(resolve, spec.silentMs ?? 300));
    socket.end();
    await new Promise((resolve) => (closed ? resolve() : socket.once('close', resolve)));
    finish(0);
  }
  socket.write(`${IDENTIFICATION}\r\n`);
  await waitForBanner();
  await keyExchange();
  send(Buffer.concat([byte(MSG.SERVICE_REQUEST), str('ssh-userauth')]));
  await expect(MSG.SERVICE_ACCEPT, 'SERVICE_ACCEPT');
  for (const step of spec.steps ?? []) {
    const answer = await authenticate(step);
    result.results.push(answer);
    if (answer === 'disconnected' || answer === 'success') break;
  }
  if (!closed && spec.end === 'disconnect') send(Buffer.concat([byte(MSG.DISCONNECT), u32(spec.reasonCode ?? 11), str(spec.description ?? 'bye'), str('')]));
  socket.end();
  await new Promise((resolve) => (closed ? resolve() : socket.once('close', resolve)));
  finish(0);
}

main().catch((error) => finish(2, error instanceof Error ? error.message : String(error)));
