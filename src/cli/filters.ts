import { ExitCode, inputError } from '../core/errors.js';
import { BUILTIN_FILTERS } from '../core/filters/index.js';
import { describeFilter, type BuiltinFilter } from '../core/filters/builtin.js';
import type { FiltersOptions } from './commands.js';
import { createOutput, renderTable } from './output.js';

// Where a built-in filter reads by default, in words.
function readsText(filter: BuiltinFilter): string {
  const parts: string[] = [];
  if (filter.reads.file) parts.push(filter.reads.file);
  if (filter.reads.journal) parts.push(`journal ${filter.reads.journal.identifier}`);
  return parts.join(' or ');
}

// `xtban filters [NAME]`: the built-in filters, or one whole.
export async function filtersCommand(name: string | undefined, options: FiltersOptions): Promise<number> {
  const out = createOutput(options.json === true);
  if (name !== undefined) {
    const filter = BUILTIN_FILTERS.get(name);
    if (!filter) throw inputError(`no built-in filter named ${JSON.stringify(name)}`, `built-in filters: ${[...BUILTIN_FILTERS.keys()].join(', ')}`);
    out.result(describeFilter(filter));
    out.line(`${filter.name}: ${filter.catches}`);
    out.line(`reads: ${readsText(filter)}  (programs: ${filter.programs.length > 0 ? filter.programs.join(', ') : 'any'})`);
    out.line(`modes: ${(filter.modes ?? ['normal']).join(', ')}`);
    if (filter.caveat) out.line(`caveat: ${filter.caveat}`);
    out.line(`client text: ${filter.clientText}${filter.delimiter === undefined ? '' : `, delimiter ${JSON.stringify(filter.delimiter)}`}`);
    out.line('patterns (role, modes):');
    for (const rule of filter.rules) {
      const modes = rule.modes ? ` [${rule.modes.join(', ')}]` : '';
      out.line(`  ${rule.role ?? 'failure'}${modes}: ${rule.pattern}`);
    }
    out.line(
      `\nroles: failure = one attempt; announce = an attempt its process's next failure line confirms (counted once); close = the end of a connection, counted only if nothing of it was`,
    );
    out.line(`copy into your config as [filters.my-${filter.name}] with programs and patterns to adapt it (xtban config show prints them as TOML)`);
    return ExitCode.ok;
  }
  const filters = [...BUILTIN_FILTERS.values()];
  out.result({ filters: filters.map(describeFilter) });
  out.line(
    renderTable([
      ['FILTER', 'READS', 'MODES', 'CATCHES'],
      ...filters.map((filter) => [filter.name, readsText(filter), (filter.modes ?? ['normal']).join(','), filter.catches]),
    ]),
  );
  for (const filter of filters) if (filter.caveat) out.line(`\ncaveat, ${filter.name}: ${filter.caveat}`);
  out.line(`\nxtban filters NAME shows one filter's patterns; in a jail: [[jails.NAME.sources]] type = "file", path = "...", filter = "NAME"`);
  return ExitCode.ok;
}
