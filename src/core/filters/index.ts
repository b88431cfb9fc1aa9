import { inputError } from '../errors.js';
import type { FilterSpec } from '../filter.js';
import { apacheAuthFilter } from './apache-auth.js';
import { builtinSpec, type BuiltinFilter, type FilterMode } from './builtin.js';
import { dovecotFilter } from './dovecot.js';
import { mysqldAuthFilter } from './mysqld-auth.js';
import { nginxBotsearchFilter } from './nginx-botsearch.js';
import { nginxHttpAuthFilter } from './nginx-http-auth.js';
import { nginxLimitReqFilter } from './nginx-limit-req.js';
import { postfixSaslFilter } from './postfix-sasl.js';
import { sshdFilter } from './sshd.js';
import { vsftpdFilter } from './vsftpd.js';

// Filters that ship with xtban, by name, in the order `xtban filters` lists them.
export const BUILTIN_FILTERS: ReadonlyMap<string, BuiltinFilter> = new Map(
  [
    sshdFilter,
    nginxHttpAuthFilter,
    nginxLimitReqFilter,
    nginxBotsearchFilter,
    apacheAuthFilter,
    postfixSaslFilter,
    dovecotFilter,
    vsftpdFilter,
    mysqldAuthFilter,
  ].map((filter) => [filter.name, filter]),
);

// The filter a source or `scan --filter` names, in its mode: built in, or one of the config's [filters].
export function resolveFilterSpec(name: string, mode: FilterMode, userFilters: ReadonlyMap<string, FilterSpec> | undefined, where = '--filter'): FilterSpec {
  const builtin = BUILTIN_FILTERS.get(name);
  if (builtin) {
    if (mode !== 'normal' && !(builtin.modes ?? []).includes(mode))
      throw inputError(
        `${where}: filter ${name} has no mode ${mode}`,
        builtin.modes ? `its modes: ${builtin.modes.join(', ')}` : 'only the sshd and dovecot filters have modes',
      );
    return builtinSpec(builtin, mode);
  }
  const spec = userFilters?.get(name);
  if (!spec) {
    const known = [...BUILTIN_FILTERS.keys(), ...(userFilters?.keys() ?? [])];
    throw inputError(`${where}: no filter named ${JSON.stringify(name)}`, `known filters: ${known.join(', ')} (xtban filters lists the built-in ones)`);
  }
  if (mode !== 'normal') throw inputError(`${where}: filter ${name} has no mode ${mode}`, 'only the sshd and dovecot filters have modes');
  return spec;
}
