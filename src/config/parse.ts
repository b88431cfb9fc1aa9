import { parse as parseToml } from 'smol-toml';
import type { z } from 'zod';
import { ExitCode, XtbanError } from '../core/errors.js';
import { checkedConfigSchema } from './schema.js';
import { normalizeConfig } from './normalize.js';
import type { Config } from '../core/domain.js';

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function keyPath(path: readonly PropertyKey[]): string {
  return (
    path
      .map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`))
      .join('')
      .replace(/^\./, '') || '(top level)'
  );
}

// One line per problem: the key path, the bad value, and what is wrong with it.
export function describeIssues(issues: readonly z.core.$ZodIssue[], raw: unknown): string[] {
  return issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const where = keyPath(issue.path);
      return issue.keys.map((key) => `${where === '(top level)' ? key : `${where}.${key}`}: unknown key`).join('\n');
    }
    const value = valueAt(raw, issue.path);
    const shown = value === undefined || (typeof value === 'object' && value !== null && !Array.isArray(value)) ? '' : ` = ${JSON.stringify(value)}`;
    const message = issue.message.replace(/^Invalid input: /, '');
    return `${keyPath(issue.path)}${shown}: ${message}`;
  });
}

// Parses and validates config text; `source` names it in every message.
export function parseConfigText(text: string, source: string): Config {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
    const where = error && typeof error === 'object' && 'line' in error ? `:${String(error.line)}:${String((error as { column?: unknown }).column ?? '')}` : '';
    throw new XtbanError(`config ${source}${where}: ${detail}`, {
      exitCode: ExitCode.usage,
      hint: error instanceof Error ? error.message.split('\n').slice(1).join('\n') : undefined,
    });
  }
  const result = checkedConfigSchema.safeParse(raw);
  if (!result.success) {
    const lines = describeIssues(result.error.issues, raw);
    throw new XtbanError(`config ${source} is invalid:\n  ${lines.join('\n').split('\n').join('\n  ')}`, {
      exitCode: ExitCode.usage,
      hint: 'fix the keys above; `xtban config check` re-validates, README "Config file" lists every key',
    });
  }
  return normalizeConfig(result.data, source);
}
