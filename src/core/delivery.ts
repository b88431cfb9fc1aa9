import { classifyAnswer } from './serve-protocol.js';

// One queued request as it was sent: its outbox seq and its line.
export interface SentRequest {
  seq: number;
  line: string;
}

// What a batch's answers do to the queue: requests done (acknowledged), requests refused for good
// (moved aside as dead letters), and the first request left queued with everything after it.
export interface Settlement {
  acknowledged: number[];
  refused: { seq: number; request: string; answer: string }[];
  // The first request neither done nor refused: its "error failed:" answer, or none (the session
  // ended first). It and every later request stay queued, in order.
  stoppedAt: { seq: number; request: string; answer: string | undefined } | undefined;
}

// Settles a batch in order. A refusal for good never blocks the queue: it is set aside and the next
// request counts. A failure that may pass (or a missing answer) stops there: that request and the
// later ones are sent again later, so the firewall acts on them in the order they were made.
export function settleBatch(sent: readonly SentRequest[], answers: readonly string[], idOf: (seq: number) => string): Settlement {
  const byId = new Map<string, { line: string; kind: 'ok' | 'refused' | 'failed' }>();
  for (const line of answers) {
    const answer = classifyAnswer(line);
    if (answer?.id !== undefined && !byId.has(answer.id)) byId.set(answer.id, { line, kind: answer.kind });
  }
  const settlement: Settlement = { acknowledged: [], refused: [], stoppedAt: undefined };
  for (const request of sent) {
    const answer = byId.get(idOf(request.seq));
    if (answer === undefined || answer.kind === 'failed') {
      settlement.stoppedAt = { seq: request.seq, request: request.line, answer: answer?.line };
      break;
    }
    if (answer.kind === 'ok') settlement.acknowledged.push(request.seq);
    else settlement.refused.push({ seq: request.seq, request: request.line, answer: answer.line });
  }
  return settlement;
}

// How long the daemon waits before it tries a target again after this many deliveries in a row that
// stopped short (unreachable, or a request that failed and may pass): 1 s, doubling, at most 30 s, so
// that a firewall down or a kernel refusing writes is not asked (and logged) twice a second.
export function retryDelayMs(failuresInARow: number): number {
  return failuresInARow <= 0 ? 0 : Math.min(30_000, 1000 * 2 ** (failuresInARow - 1));
}
