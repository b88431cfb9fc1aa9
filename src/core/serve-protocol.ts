import { parseAddress, type Address } from './address.js';
import { XtbanError } from './errors.js';
import { validateJailName } from './names.js';

// The line protocol of `xtban serve`, one request per line, one answer per request:
//   [@ID ]ping
//   [@ID ]ban JAIL ADDR [ADDR...]     [@ID ]unban JAIL ADDR [ADDR...]
//   [@ID ]query JAIL ADDR             [@ID ]flush JAIL
// An answer is "ok ...", "error refused: ..." or "error failed: ...", after "@ID " when the request had
// one. "refused" is for good: the request itself is not accepted here (a parse error, a jail not
// permitted or not configured, an address safelisted or never bannable, a right the key lacks), and
// sending it again gets the same answer. "failed" may pass: the request was accepted but could not be
// carried out now (the kernel refused a write, the store failed), and sending it again may succeed.
// After a request with an ID failed, the session carries out no later request with an ID (each is
// answered "error failed: not carried out ..."), so that queued requests act in the order they were made.
// An ID makes a request idempotent: a request delivered again is answered "ok duplicate" and does nothing.
// Servers before the two words answered "error DETAIL": classifyAnswer reads those too.
export type Request =
  | { id: string | undefined; verb: 'ping' }
  | { id: string | undefined; verb: 'ban' | 'unban'; jail: string; addresses: Address[] }
  | { id: string | undefined; verb: 'query'; jail: string; address: Address }
  | { id: string | undefined; verb: 'flush'; jail: string };

// What `ping` answers with, so a client knows it speaks to xtban serve and which version of the protocol.
export const SERVE_PROTOCOL = 'xtban-serve 1';
export const MAX_LINE_BYTES = 4096;
export const MAX_BATCH = 256;
// Letters, digits and the punctuation of addresses, names and ids: no shell metacharacter gets through.
const ALLOWED = /^[A-Za-z0-9 .:_@-]*$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;

// An answer for a request refused for good: sending it again gets the same answer.
export function refusedAnswer(detail: string): string {
  return `error refused: ${detail}`;
}

// An answer for a request accepted but not carried out now: sending it again may succeed.
export function failedAnswer(detail: string): string {
  return `error failed: ${detail}`;
}

// What an answer means for a client's queue: done (ok), never to be sent again (refused), or to be
// sent again later (failed).
export interface ClassifiedAnswer {
  id: string | undefined;
  kind: 'ok' | 'refused' | 'failed';
  detail: string;
}

// Refusals of servers that answered "error DETAIL" without saying refused or failed: the request
// itself was not accepted. Every other such error (a kernel write, the store) is taken as failed.
const LEGACY_REFUSALS = [
  / is not permitted here$/,
  / is not configured here$/,
  /; nothing written$/,
  /^unexpected character /,
  /^unknown verb /,
  /^line (too long|longer than)/,
  /^binary data/,
  /^words are separated/,
  /^a request id is /,
  /takes (no arguments|only a jail|one address)$/,
  /needs (a jail|an address)$/,
  /^at most \d+ addresses/,
  /is not a valid (IP address|jail name)/,
];

// Reads one answer line; undefined for a line that is no answer ("ok" or "error" after an optional id).
export function classifyAnswer(line: string): ClassifiedAnswer | undefined {
  const match = /^(?:@([A-Za-z0-9_-]{1,64}) )?(ok|error)(?: (.*))?$/.exec(line);
  if (!match) return undefined;
  const id = match[1];
  const rest = match[3] ?? '';
  if (match[2] === 'ok') return { id, kind: 'ok', detail: rest };
  const worded = /^(refused|failed): (.*)$/.exec(rest);
  if (worded) return { id, kind: worded[1] as 'refused' | 'failed', detail: worded[2] ?? '' };
  return { id, kind: LEGACY_REFUSALS.some((pattern) => pattern.test(rest)) ? 'refused' : 'failed', detail: rest };
}

function refuse(message: string): never {
  throw new XtbanError(message);
}

// The id of a request line, if it starts with a well-formed one, whatever the rest says: every answer,
// a refusal too, carries its request's id, so that a client's outbox can move past a refused request.
export function requestIdOf(line: string): string | undefined {
  const first = line.slice(0, line.indexOf(' ') === -1 ? line.length : line.indexOf(' '));
  return first.startsWith('@') && ID.test(first.slice(1)) ? first.slice(1) : undefined;
}

// Parses one request line (without its newline). Throws an XtbanError whose message is the answer's detail.
export function parseRequest(line: string, permittedJails: ReadonlySet<string>): Request {
  if (Buffer.byteLength(line) > MAX_LINE_BYTES) refuse(`line longer than ${MAX_LINE_BYTES} bytes`);
  if (!ALLOWED.test(line)) {
    const bad = [...line].find((character) => !ALLOWED.test(character)) ?? '';
    refuse(`unexpected character ${JSON.stringify(bad)}: only letters, digits, spaces and . : _ @ - are allowed`);
  }
  const words = line.split(' ');
  if (words.some((word) => word === '')) refuse('words are separated by exactly one space');
  let id: string | undefined;
  if (words[0]?.startsWith('@')) {
    id = words.shift()?.slice(1);
    if (id === undefined || !ID.test(id)) refuse('a request id is @ and 1-64 letters, digits, "-" or "_"');
  }
  const [verb, jailName, ...rest] = words;
  if (verb === 'ping') {
    if (words.length !== 1) refuse('ping takes no arguments');
    return { id, verb };
  }
  if (verb !== 'ban' && verb !== 'unban' && verb !== 'query' && verb !== 'flush')
    refuse(`unknown verb ${JSON.stringify(verb ?? '')}: use ping, ban, unban, query or flush`);
  if (jailName === undefined) refuse(`${verb} needs a jail`);
  try {
    validateJailName(jailName, 'jail');
  } catch (error) {
    refuse((error as Error).message);
  }
  if (!permittedJails.has(jailName)) refuse(`jail ${jailName} is not permitted here`);
  if (verb === 'flush') {
    if (rest.length !== 0) refuse('flush takes only a jail');
    return { id, verb, jail: jailName };
  }
  if (rest.length === 0) refuse(`${verb} needs an address`);
  if (verb === 'query' && rest.length !== 1) refuse('query takes one address');
  if (rest.length > MAX_BATCH) refuse(`at most ${MAX_BATCH} addresses in one request`);
  const addresses = rest.map((word, index) => {
    try {
      return parseAddress(word, `address ${index + 1}`);
    } catch (error) {
      return refuse((error as Error).message);
    }
  });
  if (verb === 'query') return { id, verb, jail: jailName, address: addresses[0] as Address };
  return { id, verb, jail: jailName, addresses };
}

// Splits a byte stream into lines, never holding more than MAX_LINE_BYTES of one: an overlong line is
// reported once its end arrives, and its bytes are dropped as they come.
export class LineSplitter {
  private pending: Buffer[] = [];
  private size = 0;
  private overlong = false;

  constructor(private readonly onLine: (line: string | { overlong: true } | { binary: true }) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let index = chunk.indexOf(10); index !== -1; index = chunk.indexOf(10, start)) {
      this.take(chunk.subarray(start, index));
      this.finish();
      start = index + 1;
    }
    this.take(chunk.subarray(start));
  }

  private take(part: Buffer): void {
    if (this.overlong) return;
    this.size += part.length;
    if (this.size > MAX_LINE_BYTES + 1) {
      this.overlong = true;
      this.pending = [];
      return;
    }
    this.pending.push(part);
  }

  private finish(): void {
    if (this.overlong) this.onLine({ overlong: true });
    else {
      let bytes = Buffer.concat(this.pending);
      if (bytes.at(-1) === 13) bytes = bytes.subarray(0, -1);
      const text = bytes.toString('utf8');
      // Bytes that are not UTF-8, or control characters: binary data, refused as a whole.
      if (!Buffer.from(text, 'utf8').equals(bytes) || /[\x00-\x08\x0b-\x1f\x7f]/.test(text)) this.onLine({ binary: true });
      else this.onLine(text);
    }
    this.pending = [];
    this.size = 0;
    this.overlong = false;
  }
}
