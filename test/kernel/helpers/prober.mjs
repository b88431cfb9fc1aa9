// A long-lived TCP prober for kernel tests, run inside the attacker namespace.
// One JSON request per stdin line: {"id":1,"host":"192.0.2.1","port":8080,"timeoutMs":400,"localAddress":"192.0.2.77"}
// (localAddress is optional: the source address to connect from).
// One JSON answer per stdout line:  {"id":1,"result":"open"|"dropped"|"refused"|"error","code":"...","ms":1.2}
// Each request uses a fresh socket (fresh source port) that is destroyed once the result is known, so a dropped SYN
// is never retransmitted after the answer. The process exits when stdin closes.
import net from 'node:net';
import readline from 'node:readline';

// RST (ECONNREFUSED, also ICMP port unreachable) and ICMP host/net unreachable: the firewall answered with a refusal.
const REFUSED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

function reply(answer) {
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}

function probe({ id, host, port, timeoutMs, localAddress }) {
  const started = performance.now();
  const socket = new net.Socket();
  let done = false;
  const finish = (result, code) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.destroy();
    reply({ id, result, code, ms: Math.round((performance.now() - started) * 100) / 100 });
  };
  const timer = setTimeout(() => finish('dropped'), timeoutMs);
  socket.once('connect', () => finish('open'));
  socket.once('error', (error) => finish(REFUSED.has(error.code) ? 'refused' : 'error', error.code ?? error.message));
  socket.connect(localAddress ? { host, port, localAddress } : { host, port });
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    reply({ id: null, result: 'error', code: 'EBADREQUEST' });
    return;
  }
  probe(request);
});
lines.on('close', () => process.exit(0));
process.stdout.write('ready\n');
