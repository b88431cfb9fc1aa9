import { inputError } from './errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

// The longest duration accepted anywhere; kernel windows have a tighter limit (see MAX_WINDOW_SECONDS).
export const MAX_DURATION_SECONDS = 365 * 86_400;

// Parses "90s", "10m", "1h", "1d", "1w", "1h30m" or a whole number of seconds into seconds.
export function parseDuration(input: string | number, where = 'duration'): number {
  const hint = 'use a positive whole duration such as 90s, 10m, 1h, 1d, 1w or 1h30m';
  let seconds: number;
  if (typeof input === 'number') {
    if (!Number.isInteger(input)) throw inputError(`${where}: ${input} is not a whole number of seconds`, hint);
    seconds = input;
  } else if (typeof input === 'string') {
    const text = input.trim();
    if (/^\d+$/.test(text)) {
      seconds = Number(text);
    } else if (/^(\d+[smhdw])+$/.test(text)) {
      seconds = 0;
      for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/g)) {
        seconds += Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
      }
    } else {
      throw inputError(`${where}: ${JSON.stringify(input)} is not a duration`, hint);
    }
  } else {
    throw inputError(`${where}: expected a duration string, got ${typeof input}`, hint);
  }
  if (seconds <= 0) throw inputError(`${where}: ${JSON.stringify(input)} must be longer than zero`, hint);
  if (seconds > MAX_DURATION_SECONDS) {
    throw inputError(`${where}: ${JSON.stringify(input)} is longer than the 365d maximum`, 'use permanent bans for addresses that should never pass');
  }
  return seconds;
}

// Renders seconds compactly ("1h30m", "45s") for tables and config show. Ages round down and
// time left rounds up, so a live entry never shows "0s" left.
export function formatDuration(totalSeconds: number, rounding: 'round' | 'floor' | 'ceil' = 'round'): string {
  if (!Number.isFinite(totalSeconds)) return '-';
  let rest = Math.max(0, Math[rounding](totalSeconds));
  if (rest === 0) return '0s';
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.slice(0, 2).join('');
}
