import { readFile } from 'node:fs/promises';
import {
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, credsAuthenticator, nanos, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { FleetConfig } from '../core/domain.js';
import { encodeFleetDecision, FLEET_LIVE_PREFIX, FLEET_SUBJECT_PREFIX, liveSubject, type FleetDecision } from '../core/fleet-message.js';

// The fleet's broker: NATS JetStream. Two streams, made by the first host that finds them missing:
// XTBAN_FLEET, every decision in order, kept for the retention; XTBAN_FLEET_LIVE, the last decision of
// each origin for each address, kept without age (a permanent ban never ages out), for a host that
// must resync. Everything the rest of xtban knows of NATS is this file.

export const DECISIONS_STREAM = 'XTBAN_FLEET';
export const LIVE_STREAM = 'XTBAN_FLEET_LIVE';
// JetStream drops a second message with the same id within this window: a decision published again
// after a crash between the server's acknowledgement and the outbox's is stored once.
const DUPLICATE_WINDOW_MS = 120_000;
// The live stream holds one message per origin, jail and address ever banned: bounded, not by age.
const LIVE_MAX_MESSAGES = 10_000_000;

// A message as the broker delivered it: the decoder decides what it means.
export interface FleetMessage {
  subject: string;
  data: Uint8Array;
  // Its sequence in its stream.
  seq: number;
  // Messages after it in the stream, as the server counted when it sent this one.
  pending: number;
}

export interface StreamPosition {
  // The oldest decision the stream still keeps (last + 1 once everything aged out; 0 for a stream that
  // never held one) and the newest.
  first: number;
  last: number;
  maxAgeSeconds: number;
  replicas: number;
}

// A running delivery of decisions: stopped by the caller, or by the broker's end.
export interface FleetFollow {
  stop(): Promise<void>;
  done: Promise<void>;
}

export interface FleetBroker {
  // Makes the streams that are missing; says how the decisions stream keeps them.
  ensureStreams(retentionSeconds: number, replicas: number): Promise<StreamPosition>;
  position(): Promise<StreamPosition>;
  // Stores the decision in both streams; resolves once JetStream acknowledged both (stored).
  publish(decision: FleetDecision): Promise<void>;
  // Delivers the decisions from stream sequence `from` on, in order, in batches; `onBatch` runs one at a
  // time. An ordered consumer: it resumes by itself after a reconnect. After stop(), no batch starts.
  follow(from: number, onBatch: (messages: FleetMessage[]) => Promise<void>, onNotice?: (notice: string) => void): Promise<FleetFollow>;
  // Every live ban message (the last of each subject) and the decisions stream's last sequence read
  // before them: what a resync applies, and where it goes on from.
  snapshot(): Promise<{ messages: FleetMessage[]; decisionsLast: number }>;
  // The server this connection is on now, or undefined while disconnected.
  server(): string | undefined;
  // Reports "disconnect", "reconnect" and the like as they happen.
  onStatus(listener: (event: { type: string; server: string | undefined }) => void): void;
  close(): Promise<void>;
}

// Connects as the config says, trying again (1 s, doubling, at most 30 s) until it is connected or
// `signal` gives up: a server down, a certificate or password being fixed, a password file not there
// yet. Each failure goes to `onFailure`. Once connected it reconnects by itself, forever: while the
// broker is away, decisions wait in the outbox.
export async function connectFleet(fleet: FleetConfig, signal?: AbortSignal, onFailure?: (error: unknown, attempt: number) => void): Promise<FleetBroker> {
  const tls =
    fleet.tls.ca !== undefined || fleet.tls.cert !== undefined
      ? {
          ...(fleet.tls.ca === undefined ? {} : { caFile: fleet.tls.ca }),
          ...(fleet.tls.cert === undefined ? {} : { certFile: fleet.tls.cert, keyFile: fleet.tls.key }),
        }
      : undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      const nc = await connect({
        servers: fleet.servers,
        name: `xtban ${fleet.name}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        reconnectJitter: 200,
        pingInterval: 10_000,
        // A server that takes the TCP connection but not the handshake fails within 5 s.
        timeout: 5000,
        ...(await authOptions(fleet)),
        ...(tls === undefined ? {} : { tls }),
      });
      return await brokerOn(nc);
    } catch (error) {
      if (signal?.aborted) throw error;
      onFailure?.(error, attempt);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(30_000, 1000 * 2 ** Math.min(attempt - 1, 5)));
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      if (signal?.aborted) throw error;
    }
  }
}

async function authOptions(fleet: FleetConfig): Promise<Record<string, unknown>> {
  switch (fleet.auth.kind) {
    case 'none':
      return {};
    case 'password':
      return { user: fleet.auth.user, pass: (await readFile(fleet.auth.passwordFile, 'utf8')).replace(/\r?\n$/, '') };
    case 'nkey':
      return { authenticator: nkeyAuthenticator(new TextEncoder().encode((await readFile(fleet.auth.seedFile, 'utf8')).trim())) };
    case 'creds':
      return { authenticator: credsAuthenticator(await readFile(fleet.auth.file)) };
  }
}

async function brokerOn(nc: NatsConnection): Promise<FleetBroker> {
  const js: JetStreamClient = jetstream(nc, { timeout: 5000 });
  let jsm: JetStreamManager | undefined;
  const manager = async () => {
    jsm ??= await jetstreamManager(nc, { timeout: 5000, checkAPI: false });
    return jsm;
  };
  let connected = true;
  const listeners: ((event: { type: string; server: string | undefined }) => void)[] = [];
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') connected = false;
      if (status.type === 'reconnect') connected = true;
      for (const listener of listeners) listener({ type: status.type, server: connected ? nc.getServer() : undefined });
    }
  })();

  const position = async (): Promise<StreamPosition> => {
    const info = await (await manager()).streams.info(DECISIONS_STREAM);
    return {
      // Of an empty stream, the sequence the next decision will have: all before it are gone.
      first: info.state.first_seq,
      last: info.state.last_seq,
      maxAgeSeconds: Math.round(info.config.max_age / 1e9),
      replicas: info.config.num_replicas,
    };
  };

  return {
    async ensureStreams(retentionSeconds, replicas) {
      const streams = (await manager()).streams;
      const wanted = [
        {
          name: DECISIONS_STREAM,
          subjects: [`${FLEET_SUBJECT_PREFIX}.*`],
          max_age: nanos(retentionSeconds * 1000),
          duplicate_window: nanos(Math.min(DUPLICATE_WINDOW_MS, retentionSeconds * 1000)),
        },
        {
          name: LIVE_STREAM,
          subjects: [`${FLEET_LIVE_PREFIX}.>`],
          max_msgs_per_subject: 1,
          max_msgs: LIVE_MAX_MESSAGES,
          duplicate_window: nanos(DUPLICATE_WINDOW_MS),
        },
      ];
      for (const stream of wanted) {
        try {
          await streams.info(stream.name);
        } catch (error) {
          if (!isNotFound(error)) throw error;
          try {
            await streams.add({
              ...stream,
              retention: RetentionPolicy.Limits,
              storage: StorageType.File,
              discard: DiscardPolicy.Old,
              num_replicas: replicas,
            });
          } catch (added) {
            // Another host made it meanwhile.
            if (!/already in use|exists/i.test(String(added))) throw added;
          }
        }
      }
      return position();
    },
    position,
    async publish(decision) {
      const data = encodeFleetDecision(decision);
      const id = `${decision.origin}:${decision.seq}`;
      await Promise.all([
        js.publish(`${FLEET_SUBJECT_PREFIX}.${decision.origin}`, data, { msgID: id }),
        js.publish(liveSubject(decision), data, { msgID: id }),
      ]);
    },
    async follow(from, onBatch, onNotice) {
      const consumer = await js.consumers.get(DECISIONS_STREAM, {
        // The stream holds decisions only: no filter (a filter list needs nats-server 2.10; Debian 12 has 2.9).
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: Math.max(1, from),
      });
      // A pull every 30 s and a heartbeat every 15 s while idle: what one host costs the server. A
      // consumer a server restart left behind is followed again by the daemon's watchdog.
      const messages: ConsumerMessages = await consumer.consume({ max_messages: 1000, expires: 30_000 });
      if (onNotice !== undefined) {
        void (async () => {
          for await (const notice of messages.status()) if (notice.type !== 'heartbeat' && notice.type !== 'next') onNotice(JSON.stringify(notice));
        })().catch(() => undefined);
      }
      // Messages queue while a batch is applied, and the next batch takes all that came meanwhile: no
      // wait added when one comes alone, one batch for many when they come fast (a catch-up, a burst).
      const queue: FleetMessage[] = [];
      let draining: Promise<void> | undefined;
      let failed: unknown;
      let ended = false;
      // Starts a drain unless one runs; a drain that ends looks again, so that a message queued between
      // its last look and its end is not left waiting for the next one.
      const kick = (): Promise<void> | undefined => {
        if (draining !== undefined || queue.length === 0) return draining;
        draining = (async () => {
          // After the messages already read from the socket are queued: they make one batch.
          await new Promise((resolve) => setImmediate(resolve));
          while (queue.length > 0 && !ended) await onBatch(queue.splice(0, 500));
        })()
          .catch((error: unknown) => {
            failed = error;
            messages.stop();
          })
          .finally(() => {
            draining = undefined;
            if (failed === undefined) void kick();
          });
        return draining;
      };
      const done = (async () => {
        for await (const message of messages) {
          queue.push({ subject: message.subject, data: message.data, seq: message.seq, pending: message.info.pending });
          const running = kick();
          // Far behind: let the batches catch up before reading more.
          if (queue.length >= 5000) await running;
        }
        while (draining !== undefined) await draining;
        if (failed !== undefined) throw failed;
      })();
      return {
        done,
        // Stops delivering at once and drops what is queued; a batch being applied ends by itself. It
        // does not wait for that batch: the caller may be the work the batch waits behind.
        async stop() {
          ended = true;
          queue.length = 0;
          messages.stop();
        },
      };
    },
    async snapshot() {
      const decisionsLast = (await position()).last;
      const info = await (await manager()).streams.info(LIVE_STREAM);
      if (info.state.messages === 0) return { messages: [], decisionsLast };
      const consumer = await js.consumers.get(LIVE_STREAM, { deliver_policy: DeliverPolicy.LastPerSubject });
      const messages = await consumer.consume({ max_messages: 1000 });
      const found: FleetMessage[] = [];
      for await (const message of messages) {
        found.push({ subject: message.subject, data: message.data, seq: message.seq, pending: message.info.pending });
        if (message.info.pending === 0) break;
      }
      messages.stop();
      return { messages: found, decisionsLast };
    },
    server: () => (connected && !nc.isClosed() ? nc.getServer() : undefined),
    onStatus(listener) {
      listeners.push(listener);
    },
    async close() {
      await nc.drain().catch(() => nc.close());
    },
  };
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && /not found/i.test(error.message);
}
