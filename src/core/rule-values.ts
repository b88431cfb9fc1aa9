import { inputError } from './errors.js';

// One port or an inclusive range, as iptables prints it ("22" or "8000:8010").
export type PortSpec = string;

function port(text: string, where: string): number {
  if (!/^\d{1,5}$/.test(text)) throw inputError(`${where}: ${JSON.stringify(text)} is not a port number`, 'ports are whole numbers from 1 to 65535');
  const value = Number(text);
  if (value < 1 || value > 65_535) throw inputError(`${where}: ${value} is outside 1-65535`);
  return value;
}

// Accepts 22, "22", "8000-8010" or "8000:8010" and renders iptables' form.
export function parsePortSpec(input: number | string, where = 'port'): PortSpec {
  const text = typeof input === 'number' ? String(input) : input.trim();
  const range = /^(\d+)\s*[-:]\s*(\d+)$/.exec(text);
  if (range) {
    const low = port(range[1] ?? '', where);
    const high = port(range[2] ?? '', where);
    if (low >= high) throw inputError(`${where}: range ${JSON.stringify(text)} must go from low to high`);
    return `${low}:${high}`;
  }
  return String(port(text, where));
}

const RATE_UNITS: Record<string, string> = {
  s: 'sec',
  sec: 'sec',
  second: 'sec',
  m: 'min',
  min: 'min',
  minute: 'min',
  h: 'hour',
  hour: 'hour',
  d: 'day',
  day: 'day',
};

// The limit match keeps a rate as a period in 1/10000 s (libxt_limit's XT_LIMIT_SCALE) and prints it
// back in the largest unit that states it exactly enough: "60/min" is saved as "1/sec".
const LIMIT_SCALE = 10_000;
const SECONDS_PER: readonly (readonly [string, number])[] = [
  ['day', 86_400],
  ['hour', 3_600],
  ['min', 60],
  ['sec', 1],
];

// Parses a LOG rate limit ("6/min") into the form iptables-save prints, refusing what iptables refuses
// (faster than 10000/sec): a rate written any other way would never compare equal, and apply would
// rewrite the chain for ever.
export function parseRate(input: string, where = 'rate'): string {
  const match = /^(\d{1,6})\/([a-z]+)$/.exec(input.trim());
  const unit = match ? RATE_UNITS[match[2] ?? ''] : undefined;
  const count = Number(match?.[1] ?? 0);
  if (!match || unit === undefined || count < 1) {
    throw inputError(`${where}: ${JSON.stringify(input)} is not a rate`, 'use N/sec, N/min, N/hour or N/day, for example 6/min');
  }
  const seconds = SECONDS_PER.find(([name]) => name === unit)?.[1] ?? 1;
  const period = Math.floor((LIMIT_SCALE * seconds) / count);
  if (period === 0)
    throw inputError(`${where}: ${JSON.stringify(input)} is faster than the 10000/sec iptables' limit match can count`, 'use at most 10000/sec');
  // libxt_limit's print_rate: the first unit, from day down, after which the period no longer divides well.
  let index = 1;
  for (; index < SECONDS_PER.length; index++) {
    const scaled = LIMIT_SCALE * (SECONDS_PER[index]?.[1] ?? 1);
    if (period > scaled || Math.floor(scaled / period) < scaled % period) break;
  }
  const [name, per] = SECONDS_PER[index - 1] ?? ['sec', 1];
  return `${Math.floor((LIMIT_SCALE * per) / period)}/${name}`;
}

// A LOG prefix must fit the kernel's 29 characters and survive iptables-restore's quoting.
export function parseLogPrefix(input: string, where = 'log prefix'): string {
  if (input.length === 0 || input.length > 29) throw inputError(`${where}: ${JSON.stringify(input)} must be 1 to 29 characters`);
  if (!/^[\x20-\x7e]+$/.test(input) || /["'\\]/.test(input)) {
    throw inputError(`${where}: ${JSON.stringify(input)} may hold printable ASCII only, without quotes or backslashes`);
  }
  return input;
}
