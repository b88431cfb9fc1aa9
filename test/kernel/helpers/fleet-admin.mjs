// What a fleet test does on the broker from inside the hub namespace, as an administrator or as a
// (hostile) host: one JSON command on argv, one JSON answer on stdout.
//   {"servers":[...],"user":"admin","password":"...","op":"streams","maxAge":3600,"replicas":1}
//   {"op":"retention","maxAge":2}          shortens or restores the decisions stream's max_age
//   {"op":"info"}                          both streams' first and last sequences
//   {"op":"publish","subject":"...","data":"..."}   a raw JetStream publish ({"fill":N}: N bytes of "{")
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';

const command = JSON.parse(process.argv[2] ?? '{}');
const nc = await connect({ servers: command.servers, user: command.user, pass: command.password, timeout: 5000 });
const answer = {};
try {
  if (command.op === 'publish') {
    const js = jetstream(nc, { timeout: 3000 });
    // fill: that many bytes of "{" (a message too big for argv is made here).
    const data = command.fill !== undefined ? new Uint8Array(command.fill).fill(0x7b) : new TextEncoder().encode(command.data);
    try {
      const ack = await js.publish(command.subject, data);
      answer.stored = ack.seq;
    } catch (error) {
      answer.error = String(error?.message ?? error);
    }
  } else {
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    if (command.op === 'streams') {
      await jsm.streams.add({
        name: 'XTBAN_FLEET',
        subjects: ['xtban.fleet.decisions.*'],
        max_age: nanos(command.maxAge * 1000),
        duplicate_window: nanos(Math.min(120_000, command.maxAge * 1000)),
        num_replicas: command.replicas ?? 1,
      });
      await jsm.streams.add({
        name: 'XTBAN_FLEET_LIVE',
        subjects: ['xtban.fleet.live.>'],
        max_msgs_per_subject: 1,
        num_replicas: command.replicas ?? 1,
      });
    } else if (command.op === 'retention') {
      const info = await jsm.streams.info('XTBAN_FLEET');
      await jsm.streams.update('XTBAN_FLEET', {
        ...info.config,
        max_age: nanos(command.maxAge * 1000),
        duplicate_window: nanos(Math.min(120_000, command.maxAge * 1000)),
      });
    }
    for (const name of ['XTBAN_FLEET', 'XTBAN_FLEET_LIVE']) {
      try {
        const info = await jsm.streams.info(name);
        answer[name] = { first: info.state.first_seq, last: info.state.last_seq, messages: info.state.messages, maxAge: info.config.max_age / 1e9 };
      } catch (error) {
        answer[name] = { error: String(error?.message ?? error) };
      }
    }
  }
} finally {
  await nc.close();
}
process.stdout.write(`${JSON.stringify(answer)}\n`);
