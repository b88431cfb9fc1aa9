// One HTTP request sent byte for byte, for what curl will not send (a space or a newline in the request
// line, a header with bytes curl refuses): node raw-http.mjs HOST PORT BASE64 [LOCAL_ADDRESS]. Prints
// the answer's first line as JSON ("" for none) once the server closes or after 5 s, then exits.
import net from 'node:net';

const [host, port, request, localAddress] = process.argv.slice(2);
let answer = '';
const socket = net.connect({ host, port: Number(port), ...(localAddress ? { localAddress } : {}) });
const done = () => {
  process.stdout.write(`${JSON.stringify(answer.split('\r\n')[0] ?? '')}\n`);
  process.exit(0);
};
setTimeout(() => {
  socket.destroy();
  done();
}, 5000).unref();
socket.on('connect', () => socket.write(Buffer.from(request ?? '', 'base64')));
socket.on('data', (chunk) => {
  answer += chunk.toString('latin1');
});
socket.on('error', (error) => {
  answer ||= `error ${error.code ?? error.message}`;
});
socket.on('close', done);
