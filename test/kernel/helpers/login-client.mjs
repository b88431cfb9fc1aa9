// A raw login client for SMTP, IMAP, POP3 and FTP, for the names curl cannot send: curl splits --user
// at the first ':' and refuses a control character in a URL's user name, and an attacker is bound by
// neither. Run in the attacker namespace with one JSON argument:
//   { proto: 'smtp'|'imap'|'pop3'|'ftp', host, port, user, pass, mech?: 'PLAIN'|'LOGIN', from?, timeoutMs? }
// It logs in once (AUTH PLAIN or LOGIN; FTP's USER and PASS as raw lines), says goodbye, and prints
// { ok, replies } as JSON: ok is whether the server accepted the login.
import net from 'node:net';

const options = JSON.parse(process.argv[2] ?? '{}');
const b64 = (text) => Buffer.from(text, 'utf8').toString('base64');

const socket = net.connect({ host: options.host, port: options.port, ...(options.from ? { localAddress: options.from } : {}) });
const timer = setTimeout(() => finish(false, 'timeout'), options.timeoutMs ?? 20_000);
const replies = [];
let buffered = '';
let waiting;

function finish(ok, why) {
  clearTimeout(timer);
  process.stdout.write(`${JSON.stringify({ ok, replies, ...(why ? { why } : {}) })}\n`);
  socket.destroy();
  process.exit(0);
}

socket.on('error', (error) => finish(false, error.code ?? String(error)));
socket.on('close', () => waiting && finish(false, 'closed'));
socket.on('data', (chunk) => {
  buffered += chunk.toString('latin1');
  tryReply();
});

// A whole reply: SMTP's and FTP's last line has a space after the code; IMAP's is tagged; POP3's is one line.
function complete(text) {
  const lines = text.split('\r\n').slice(0, -1);
  const last = lines.at(-1);
  if (last === undefined) return false;
  if (options.proto === 'smtp' || options.proto === 'ftp') return /^\d{3} /.test(last);
  if (options.proto === 'imap') return waiting.tag === undefined ? true : last.startsWith(`${waiting.tag} `) || last.startsWith('+');
  return true;
}

function tryReply() {
  if (!waiting || !complete(buffered)) return;
  const text = buffered;
  buffered = '';
  replies.push(text.trimEnd());
  const resolve = waiting.resolve;
  waiting = undefined;
  resolve(text);
}

function send(line, tag) {
  return new Promise((resolve) => {
    waiting = { resolve, tag };
    if (line !== undefined) socket.write(`${line}\r\n`, 'utf8');
    else tryReply();
  });
}

async function smtp() {
  await send(undefined);
  await send('EHLO client.example');
  let reply;
  if (options.mech === 'LOGIN') {
    await send('AUTH LOGIN');
    await send(b64(options.user));
    reply = await send(b64(options.pass));
  } else {
    reply = await send(`AUTH PLAIN ${b64(`\0${options.user}\0${options.pass}`)}`);
  }
  const ok = reply.startsWith('235');
  await send('QUIT');
  return ok;
}

async function imap() {
  await send(undefined, undefined);
  let reply;
  if (options.mech === 'LOGIN') {
    await send('a AUTHENTICATE LOGIN', 'a');
    await send(b64(options.user), 'a');
    reply = await send(b64(options.pass), 'a');
  } else {
    reply = await send(`a AUTHENTICATE PLAIN ${b64(`\0${options.user}\0${options.pass}`)}`, 'a');
  }
  const ok = /^a OK/m.test(reply);
  await send('b LOGOUT', 'b');
  return ok;
}

async function pop3() {
  await send(undefined);
  const reply = await send(`AUTH PLAIN ${b64(`\0${options.user}\0${options.pass}`)}`);
  const ok = reply.startsWith('+OK');
  await send('QUIT');
  return ok;
}

async function ftp() {
  await send(undefined);
  await send(`USER ${options.user}`);
  const reply = await send(`PASS ${options.pass}`);
  const ok = reply.startsWith('230');
  await send('QUIT');
  return ok;
}

const run = { smtp, imap, pop3, ftp }[options.proto];
if (!run) finish(false, `unknown protocol ${options.proto}`);
socket.once('connect', () => {
  run().then(
    (ok) => finish(ok),
    (error) => finish(false, String(error)),
  );
});
