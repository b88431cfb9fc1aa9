// A tiny TCP service for kernel tests, run inside a namespace with `ip netns exec NS node tcp-server.mjs PORT [HOST]`.
// It answers one short line per connection and closes; it prints "listening PORT" once ready and exits when stdin closes,
// so it never outlives the test process that started it.
import net from 'node:net';

const port = Number(process.argv[2] ?? '0');
const host = process.argv[3] ?? '::';

const server = net.createServer((socket) => {
  socket.on('error', () => {});
  socket.end('xtban-test-server\n');
});

server.on('error', (error) => {
  process.stderr.write(`tcp-server: ${error.message}\n`);
  process.exit(1);
});

// `::` with ipv6Only false is dual-stack: IPv4 clients arrive as ::ffff:a.b.c.d.
server.listen({ host, port, ipv6Only: false }, () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : port}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
