// The config file's schema (zod): every key, its type, its limits and its message; normalize.ts turns
// what passes into the program's Config (core/domain.ts).
import { z } from 'zod';
import { parseNetwork } from '../core/address.js';
import { parseListenAddress } from './listen-address.js';
import { parseDuration } from '../core/duration.js';
import { XtbanError } from '../core/errors.js';
import { validateJailName, validateListName } from '../core/names.js';
import { parseLogPrefix, parsePortSpec, parseRate } from '../core/rule-values.js';
import { compileFilter } from '../core/filter.js';
import { FILTER_MODES } from '../core/filters/builtin.js';
import { BUILTIN_FILTERS } from '../core/filters/index.js';
import { SERVE_RIGHTS, validateKeyName } from '../core/serve-rights.js';
import { validateHostName } from '../core/fleet-message.js';

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
// Tiers and shards multiply the rules of a chain: keep both small enough to read.
export const MAX_TIERS = 8;
export const MAX_CAPACITY = 1_000_000;

// A duration the kernel takes as a recent match's --seconds: what it names, for the message.
const kernelSeconds = (what: string, hint: string) =>
  z.union([z.string(), z.number()]).superRefine(
    checked((value: string | number) => {
      if (parseDuration(value) > MAX_WINDOW_SECONDS) {
        throw new XtbanError(`${what}: longer than ${MAX_WINDOW_SECONDS}s (49d), which the kernel's 32-bit seconds*HZ cannot hold`, { hint });
      }
    }),
  );

const windowValue = kernelSeconds('window', 'use at most 49d; permanent bans cover addresses that should never pass');

const portValue = z.union([z.number(), z.string()]).superRefine(checked((value: number | string) => parsePortSpec(value)));

const logTable = z.strictObject({
  prefix: z.string().superRefine(checked(parseLogPrefix)).optional(),
  rate: z.string().superRefine(checked(parseRate)).optional(),
});

const FILTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const filterName = z.string().regex(FILTER_NAME, 'a filter name: letters, digits, "-" and "_"');
// A syslog identifier as daemons set it: postfix's hold a '/' (postfix/smtpd, postfix/submission/smtpd).
const syslogIdentifier = z.string().regex(/^[A-Za-z0-9@._/-]+$/, 'a syslog identifier');

const sourceTable = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('file'),
    path: z.string().startsWith('/', 'an absolute path'),
    filter: filterName.default('sshd'),
    mode: z.enum(FILTER_MODES).default('normal'),
    format: z.enum(['auto', 'syslog', 'native', 'plain']).default('auto'),
  }),
  z.strictObject({
    type: z.literal('journal'),
    unit: z
      .string()
      .regex(/^[A-Za-z0-9@._:-]+$/, 'a systemd unit name')
      .optional(),
    identifier: syslogIdentifier.optional(),
    filter: filterName.default('sshd'),
    mode: z.enum(FILTER_MODES).default('normal'),
  }),
  z.strictObject({ type: z.literal('list'), path: z.string().startsWith('/', 'an absolute path'), permanent: z.boolean().default(true) }),
]);

const detectTable = z.strictObject({
  hitcount: z.number().int().min(2).max(65_535, 'at most 65535 (255 on kernels before 6.11)'),
  // Also a recent match's --seconds: "200d" would wrap to about 28 h at HZ 250.
  seconds: kernelSeconds('detect.seconds', 'use at most 49d'),
});

const filterTable = z.strictObject({
  programs: z.array(syslogIdentifier).default([]),
  patterns: z.array(z.string()).min(1, 'at least one pattern with <ADDR>'),
  ignore: z.array(z.string()).default([]),
  // Where the program writes text a client chose: "anywhere" (the default, checked both ways) or only
  // "before-address" (as sshd writes the user name), which lets the text before <ADDR> be free.
  client_text: z.enum(['anywhere', 'before-address', 'after-address']).default('anywhere'),
  // A character the client's text before the address never holds (the program splits or escapes it).
  delimiter: z
    .string()
    .regex(/^[!-~]$/, 'one printable ASCII character that is not a space')
    .optional(),
});

const remoteTable = z.strictObject({
  // Never starting with "-": ssh would read it as an option.
  host: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9._:-]*$/, 'a host name, an address or an ssh_config Host alias'),
  port: z.number().int().min(1).max(65_535).optional(),
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a user name')
    .optional(),
  key: z.string().startsWith('/', 'an absolute path').optional(),
  known_hosts: z.string().startsWith('/', 'an absolute path').optional(),
  strict_host_key_checking: z.boolean().default(true),
});

const absolutePath = z.string().startsWith('/', 'an absolute path');

// A NATS server as the client takes it: nats:// (TLS when the server asks for it) or tls:// (TLS always),
// a host and a port; nothing else, so that a typo fails here and not at the first reconnect.
const natsServer = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a URL: write nats://HOST:4222 or tls://HOST:4222` });
    return;
  }
  if (url.protocol !== 'nats:' && url.protocol !== 'tls:') ctx.addIssue({ code: 'custom', message: `${url.protocol} is not nats: or tls:` });
  else if (url.hostname === '') ctx.addIssue({ code: 'custom', message: 'no host: write nats://HOST:4222' });
  else if (url.username !== '' || url.password !== '')
    ctx.addIssue({ code: 'custom', message: 'no credentials in the URL (they would show in logs): use user and password_file, nkey_seed_file or creds_file' });
  else if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '')
    ctx.addIssue({ code: 'custom', message: 'only a scheme, a host and a port' });
});

const fleetTable = z
  .strictObject({
    name: z.string().superRefine(checked((value: string) => validateHostName(value))),
    servers: z.array(natsServer).min(1, 'at least one server, for example ["nats://10.0.0.5:4222"]'),
    user: z
      .string()
      .regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'a user name: letters, digits, "_", ".", "@" and "-"')
      .optional(),
    password_file: absolutePath.optional(),
    nkey_seed_file: absolutePath.optional(),
    creds_file: absolutePath.optional(),
    tls_ca: absolutePath.optional(),
    tls_cert: absolutePath.optional(),
    tls_key: absolutePath.optional(),
    // Of the streams xtban creates; an existing stream keeps its own.
    replicas: z.number().int().min(1).max(5).default(1),
    // How long the decisions stream keeps a decision; at least the longest window of a shared jail.
    retention: z
      .union([z.string(), z.number()])
      .superRefine(checked((value: string | number) => parseDuration(value)))
      .optional(),
  })
  .superRefine((fleet, ctx) => {
    const ways = [
      fleet.user !== undefined && 'user',
      fleet.nkey_seed_file !== undefined && 'nkey_seed_file',
      fleet.creds_file !== undefined && 'creds_file',
    ].filter((way) => way !== false);
    if (ways.length > 1) ctx.addIssue({ code: 'custom', path: [ways[1] ?? ''], message: `give one way to authenticate, not ${ways.join(' and ')}` });
    if (fleet.password_file !== undefined && fleet.user === undefined)
      ctx.addIssue({ code: 'custom', path: ['password_file'], message: 'password_file needs user' });
    if (fleet.user !== undefined && fleet.password_file === undefined)
      ctx.addIssue({ code: 'custom', path: ['user'], message: 'user needs password_file (a file holding the password, readable by root only)' });
    if ((fleet.tls_cert === undefined) !== (fleet.tls_key === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [fleet.tls_cert === undefined ? 'tls_key' : 'tls_cert'],
        message: 'a client certificate needs both tls_cert and tls_key',
      });
  });

const jailTable = z
  .strictObject({
    fleet: z.boolean().default(false),
    maxretry: z.number().int().min(1).max(1000).default(5),
    findtime: z
      .union([z.string(), z.number()])
      .superRefine(checked((value: string | number) => parseDuration(value)))
      .default('10m'),
    sources: z.array(sourceTable).default([]),
    detect: detectTable.optional(),
    remote: z.array(z.string()).default([]),
    remote_only: z.boolean().default(false),
    ports: z.array(portValue).max(15, 'at most 15 ports or ranges (iptables multiport limit; a range counts as two)').optional(),
    protocol: z.enum(['tcp', 'udp', 'all']).default('tcp'),
    window: windowValue.optional(),
    tiers: z.array(windowValue).min(1, 'at least one tier window').max(MAX_TIERS, `at most ${MAX_TIERS} tiers`).optional(),
    capacity: z.number().int('a whole number of bans').min(1).max(MAX_CAPACITY).optional(),
    mask: z
      .strictObject({
        ipv4: z.number().int().min(1, 'a /0 mask would ban every address').max(32).default(32),
        ipv6: z.number().int().min(1, 'a /0 mask would ban every address').max(128).default(128),
      })
      .optional(),
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
      .refine((value) => !value.includes('.'), 'no dots: xtban adds .v6, .t<tier> and .<shard> to make the kernel lists')
      .refine((value) => value.length <= 180, 'at most 180 characters (suffixes for family, tier and shard are added)')
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
    if (jail.window !== undefined && jail.tiers !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['window'], message: 'give either window or tiers: with tiers, the first tier is the window of a first ban' });
    }
  });

const safelistTable = z
  .strictObject({
    addresses: z.array(z.string().superRefine(checked((value: string) => parseNetwork(value)))).default([]),
    files: z.array(z.string().min(1)).default([]),
    own_addresses: z.boolean().default(true),
  })
  .default({ addresses: [], files: [], own_addresses: true });

const daemonTable = z
  .strictObject({
    check_interval: z
      .union([z.string(), z.number()])
      .superRefine(checked((value: string | number) => parseDuration(value)))
      .default('1s'),
    reap_interval: z
      .union([z.string(), z.number()])
      .superRefine(checked((value: string | number) => parseDuration(value)))
      .default('60s'),
    metrics: z
      .string()
      .superRefine(checked((value: string) => parseListenAddress(value)))
      .optional(),
    metrics_file: z.string().min(1).optional(),
  })
  .default({ check_interval: '1s', reap_interval: '60s' });

const serveTable = z
  .strictObject({
    keys: z
      .record(
        z.string(),
        z.strictObject({
          rights: z.enum(SERVE_RIGHTS, {
            error: (issue) =>
              issue.input === undefined
                ? 'rights is required: "own" (end only the bans this key made), "ban-only" (ban, never unban or flush) or "full" (end any ban of its jails)'
                : `not a right: use "own" (end only the bans this key made), "ban-only" (ban, never unban or flush) or "full" (end any ban of its jails)`,
          }),
        }),
      )
      .superRefine((keys, ctx) => {
        for (const name of Object.keys(keys)) {
          try {
            validateKeyName(name, 'key name');
          } catch (error) {
            if (!(error instanceof XtbanError)) throw error;
            ctx.addIssue({ code: 'custom', path: [name], message: `${error.message}${error.hint ? ` (${error.hint})` : ''}` });
          }
        }
      })
      .default({}),
  })
  .default({ keys: {} });

// The file's shape: unknown keys are errors, so a typo never passes silently.
export const configSchema = z.strictObject({
  firewall: z
    .strictObject({
      backend: z.enum(['auto', 'nft', 'legacy']).default('auto'),
    })
    .default({ backend: 'auto' }),
  safelist: safelistTable,
  daemon: daemonTable,
  serve: serveTable,
  fleet: fleetTable.optional(),
  remotes: z
    .record(z.string(), remoteTable)
    .superRefine((remotes, ctx) => {
      for (const name of Object.keys(remotes))
        if (!FILTER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'a remote name: letters, digits, "-" and "_"' });
    })
    .default({}),
  filters: z
    .record(z.string(), filterTable)
    .superRefine((filters, ctx) => {
      for (const [name, filter] of Object.entries(filters)) {
        if (!FILTER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'a filter name: letters, digits, "-" and "_"' });
        if (BUILTIN_FILTERS.has(name)) ctx.addIssue({ code: 'custom', path: [name], message: `${name} is a built-in filter; give yours another name` });
        try {
          compileFilter(
            {
              name,
              programs: filter.programs,
              patterns: filter.patterns,
              ignore: filter.ignore,
              clientText: filter.client_text,
              ...(filter.delimiter === undefined ? {} : { delimiter: filter.delimiter }),
            },
            `filters.${name}`,
          );
        } catch (error) {
          if (!(error instanceof XtbanError)) throw error;
          ctx.addIssue({ code: 'custom', path: [name], message: `${error.message}${error.hint ? ` (${error.hint})` : ''}` });
        }
      }
    })
    .default({}),
  jails: z.record(z.string(), jailTable).superRefine((jails, ctx) => {
    if (Object.keys(jails).length === 0) ctx.addIssue({ code: 'custom', message: 'at least one jail, for example [jails.ssh]' });
    const owners = new Map<string, string>();
    for (const [name, jail] of Object.entries(jails)) {
      const base = jail.list ?? `xtban-${name}`;
      const other = owners.get(base);
      if (other !== undefined)
        ctx.addIssue({ code: 'custom', path: [name, 'list'], message: `list ${base} is already used by jail ${other}; each jail needs lists of its own` });
      owners.set(base, name);
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

// Every source must name a filter that exists: built in, or in [filters]; every remote must exist.
export const checkedConfigSchema = configSchema.superRefine((config, ctx) => {
  let longestShared = 0;
  for (const [name, jail] of Object.entries(config.jails)) {
    if (jail.fleet && config.fleet === undefined)
      ctx.addIssue({ code: 'custom', path: ['jails', name, 'fleet'], message: 'fleet = true needs a [fleet] table (name and servers)' });
    if (jail.fleet && jail.remote_only)
      ctx.addIssue({
        code: 'custom',
        path: ['jails', name, 'fleet'],
        message: 'a remote_only jail bans nothing here: share the jail of the central firewall instead',
      });
    if (jail.fleet) longestShared = Math.max(longestShared, ...(jail.tiers ?? [jail.window ?? '1h']).map((window) => parseDuration(window)));
    jail.remote.forEach((remote, index) => {
      if (!(remote in config.remotes))
        ctx.addIssue({ code: 'custom', path: ['jails', name, 'remote', index], message: `no remote named ${remote}; define [remotes.${remote}]` });
    });
    if (jail.remote_only && jail.remote.length === 0)
      ctx.addIssue({ code: 'custom', path: ['jails', name, 'remote_only'], message: 'remote_only needs at least one remote' });
    jail.sources.forEach((source, index) => {
      if (source.type === 'list') return;
      const builtin = BUILTIN_FILTERS.get(source.filter);
      if (!builtin && !(source.filter in config.filters)) {
        ctx.addIssue({
          code: 'custom',
          path: ['jails', name, 'sources', index, 'filter'],
          message: `no filter named ${source.filter} (built in: ${[...BUILTIN_FILTERS.keys()].join(', ')}; or define [filters.${source.filter}])`,
        });
      } else if (source.mode !== 'normal' && !(builtin?.modes ?? []).includes(source.mode)) {
        ctx.addIssue({
          code: 'custom',
          path: ['jails', name, 'sources', index, 'mode'],
          message: `filter ${source.filter} has no mode ${source.mode}${builtin?.modes ? ` (its modes: ${builtin.modes.join(', ')})` : ' (only the built-in sshd and dovecot filters have modes)'}`,
        });
      }
    });
  }
  if (config.fleet?.retention !== undefined && parseDuration(config.fleet.retention) < longestShared) {
    ctx.addIssue({
      code: 'custom',
      path: ['fleet', 'retention'],
      message: `shorter than the longest window of a shared jail (${longestShared}s): a host down that long would miss bans still in force; leave it out to use that window`,
    });
  }
});

// What the checked file contents are, before normalizeConfig (normalize.ts) turns them into Config.
export type ConfigParsed = z.output<typeof configSchema>;

// The LOG prefix used when a jail asks for logging without naming one (at most 29 characters).
export function defaultLogPrefix(jail: string): string {
  return `xtban ${jail}: `.slice(0, 29);
}
