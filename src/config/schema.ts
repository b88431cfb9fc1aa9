import { z } from 'zod';
import type { Family } from '../core/address.js';
import { parseDuration } from '../core/duration.js';
import { XtbanError } from '../core/errors.js';
import { chainName, validateJailName, validateListName } from '../core/names.js';
import { parseLogPrefix, parsePortSpec, parseRate, type PortSpec } from '../core/rule-values.js';

// A jail as the rest of the program sees it: validated, defaults applied, durations in seconds.
export interface JailConfig {
  name: string;
  chain: string;
  // Base name of the jail's kernel lists (the `list` key).
  list: string;
  // One kernel list per family the jail takes: a list's --mask comes from the first rule that
  // names it, so IPv4 and IPv6 never share one (IPv6 packets would be masked to 32 bits).
  lists: JailList[];
  protocol: 'tcp' | 'udp' | 'all';
  // Empty: every port.
  ports: PortSpec[];
  windowSeconds: number;
  action: 'DROP' | 'REJECT';
  families: Family[];
  hooks: Hook[];
  log: { prefix: string; rate: string } | undefined;
}

export type Hook = 'INPUT' | 'FORWARD';

// A kernel list and the family of the addresses it holds.
export interface JailList {
  family: Family;
  name: string;
}

// IPv4 bans live in `<list>`, IPv6 bans in `<list>.v6` (jail names hold no dots, so defaults never collide).
export function familyListName(base: string, family: Family): string {
  return family === 4 ? base : `${base}.v6`;
}

// The list that holds a jail's addresses of one family, or undefined when the jail does not take it.
export function listFor(jail: JailConfig, family: Family): string | undefined {
  return jail.lists.find((list) => list.family === family)?.name;
}
export type Backend = 'auto' | 'nft' | 'legacy';

export interface Config {
  // Where it was read from, for messages.
  source: string;
  backend: Backend;
  jails: JailConfig[];
}

// Runs one of the core validators inside zod so that its message lands on the right key path.
function checked<T>(validate: (value: T) => unknown) {
  return (value: T, ctx: z.core.$RefinementCtx<T>): void => {
    try {
      validate(value);
    } catch (error) {
      if (error instanceof XtbanError) {
        ctx.addIssue({ code: 'custom', message: error.message.replace(/^[^:]*: /, '') + (error.hint ? ` (${error.hint})` : '') });
      } else throw error;
    }
  };
}

// The kernel computes --seconds * HZ in 32 bits: past (2^32 - 1) / 1000 seconds a window would wrap at HZ=1000.
export const MAX_WINDOW_SECONDS = Math.floor((2 ** 32 - 1) / 1000);

const windowValue = z.union([z.string(), z.number()]).superRefine(
  checked((value: string | number) => {
    if (parseDuration(value) > MAX_WINDOW_SECONDS) {
      throw new XtbanError(`window: longer than ${MAX_WINDOW_SECONDS}s (49d), which the kernel's 32-bit seconds*HZ cannot hold`, {
        hint: 'use at most 49d; permanent bans cover addresses that should never pass',
      });
    }
  }),
);

const portValue = z.union([z.number(), z.string()]).superRefine(checked((value: number | string) => parsePortSpec(value)));

const logTable = z.strictObject({
  prefix: z.string().superRefine(checked(parseLogPrefix)).optional(),
  rate: z.string().superRefine(checked(parseRate)).optional(),
});

const jailTable = z
  .strictObject({
    ports: z.array(portValue).max(15, 'at most 15 ports or ranges (iptables multiport limit; a range counts as two)').optional(),
    protocol: z.enum(['tcp', 'udp', 'all']).default('tcp'),
    window: windowValue.default('1h'),
    action: z.enum(['DROP', 'REJECT']).default('DROP'),
    family: z.enum(['both', 'ipv4', 'ipv6']).default('both'),
    hooks: z
      .array(z.enum(['INPUT', 'FORWARD']))
      .min(1, 'at least one hook (INPUT or FORWARD)')
      .refine((hooks) => new Set(hooks).size === hooks.length, 'each hook at most once')
      .default(['INPUT']),
    list: z
      .string()
      .superRefine(checked((value: string) => validateListName(value)))
      .refine((value) => value.length <= 196, 'at most 196 characters (".v6" is added for the IPv6 list)')
      .optional(),
    log: z.union([logTable, z.boolean()]).optional(),
  })
  .superRefine((jail, ctx) => {
    if (jail.ports !== undefined && jail.ports.length > 0 && jail.protocol === 'all') {
      ctx.addIssue({ code: 'custom', path: ['protocol'], message: 'ports need protocol "tcp" or "udp"; "all" matches every port already' });
    }
    if (jail.ports !== undefined) {
      const slots = jail.ports.reduce<number>((sum, port) => sum + (typeof port === 'string' && /[-:]/.test(port) ? 2 : 1), 0);
      if (slots > 15) ctx.addIssue({ code: 'custom', path: ['ports'], message: 'more than 15 multiport slots (a range counts as two)' });
    }
  });

// The file's shape: unknown keys are errors, so a typo never passes silently.
export const configSchema = z.strictObject({
  firewall: z
    .strictObject({
      backend: z.enum(['auto', 'nft', 'legacy']).default('auto'),
    })
    .default({ backend: 'auto' }),
  jails: z
    .record(z.string(), jailTable)
    .superRefine((jails, ctx) => {
      if (Object.keys(jails).length === 0) ctx.addIssue({ code: 'custom', message: 'at least one jail, for example [jails.ssh]' });
      const owners = new Map<string, string>();
      for (const [name, jail] of Object.entries(jails)) {
        const base = jail.list ?? `xtban-${name}`;
        for (const list of [familyListName(base, 4), familyListName(base, 6)]) {
          const other = owners.get(list);
          if (other !== undefined) ctx.addIssue({ code: 'custom', path: [name, 'list'], message: `list ${list} is already used by jail ${other}; each jail needs lists of its own` });
          owners.set(list, name);
        }
      }
      for (const name of Object.keys(jails)) {
        try {
          validateJailName(name, 'jail name');
        } catch (error) {
          if (!(error instanceof XtbanError)) throw error;
          ctx.addIssue({ code: 'custom', path: [name], message: `${error.message}${error.hint ? ` (${error.hint})` : ''}` });
        }
      }
    }),
});

export type ConfigInput = z.input<typeof configSchema>;
type ConfigParsed = z.output<typeof configSchema>;

// Turns the checked file contents into the program's view, with every default applied.
export function normalizeConfig(parsed: ConfigParsed, source: string): Config {
  const jails: JailConfig[] = Object.entries(parsed.jails).map(([name, jail]) => {
    const families: Family[] = jail.family === 'ipv4' ? [4] : jail.family === 'ipv6' ? [6] : [4, 6];
    const log =
      jail.log === undefined || jail.log === false
        ? undefined
        : {
            prefix: (jail.log === true ? undefined : jail.log.prefix) ?? defaultLogPrefix(name),
            rate: parseRate((jail.log === true ? undefined : jail.log.rate) ?? '6/min'),
          };
    const list = jail.list ?? `xtban-${name}`;
    return {
      name,
      chain: chainName(name),
      list,
      lists: families.map((family) => ({ family, name: familyListName(list, family) })),
      protocol: jail.protocol,
      ports: (jail.ports ?? []).map((port) => parsePortSpec(port)),
      windowSeconds: parseDuration(jail.window),
      action: jail.action,
      families,
      hooks: jail.hooks,
      log,
    };
  });
  return { source, backend: parsed.firewall.backend, jails };
}

// The LOG prefix used when a jail asks for logging without naming one (at most 29 characters).
export function defaultLogPrefix(jail: string): string {
  return `xtban ${jail}: `.slice(0, 29);
}
