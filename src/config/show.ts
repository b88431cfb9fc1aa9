import { stringify as stringifyToml } from 'smol-toml';
import { formatDuration } from '../core/duration.js';
import type { Config } from '../core/domain.js';
import { builtinSpec, describeFilter } from '../core/filters/builtin.js';
import { BUILTIN_FILTERS } from '../core/filters/index.js';

// Keys that --json adds for scripts but the TOML form leaves out (they are derived, not settable).
const DERIVED_KEYS = ['chain', 'window_seconds'];

// The effective config in the file's own shape, every default written out.
export function effectiveConfig(config: Config): Record<string, unknown> {
  const jails: Record<string, unknown> = {};
  for (const jail of config.jails) {
    const entry: Record<string, unknown> = { protocol: jail.protocol };
    if (jail.ports.length > 0) entry['ports'] = jail.ports.map((port) => (/^\d+$/.test(port) ? Number(port) : port));
    if (jail.tierWindows.length > 1) entry['tiers'] = jail.tierWindows.map((seconds) => formatDuration(seconds));
    else entry['window'] = formatDuration(jail.windowSeconds);
    Object.assign(entry, {
      window_seconds: jail.windowSeconds,
      action: jail.action,
      family: jail.families.length === 2 ? 'both' : jail.families[0] === 4 ? 'ipv4' : 'ipv6',
      hooks: jail.hooks,
      list: jail.list,
      mask: { ipv4: jail.mask[4], ipv6: jail.mask[6] },
      chain: jail.chain,
    });
    if (jail.capacity !== undefined) entry['capacity'] = jail.capacity;
    if (jail.log) entry['log'] = { ...jail.log };
    entry['maxretry'] = jail.maxretry;
    entry['findtime'] = formatDuration(jail.findtimeSeconds);
    if (jail.detect) entry['detect'] = { hitcount: jail.detect.hitcount, seconds: formatDuration(jail.detect.seconds) };
    if (jail.remotes.length > 0) {
      entry['remote'] = jail.remotes;
      entry['remote_only'] = jail.remoteOnly;
    }
    if (jail.fleet) entry['fleet'] = true;
    if (jail.sources.length > 0) {
      entry['sources'] = jail.sources.map((source) => Object.fromEntries(Object.entries(source).filter(([, value]) => value !== undefined)));
    }
    jails[jail.name] = entry;
  }
  const safelist = { addresses: config.safelist.addresses, files: config.safelist.files, own_addresses: config.safelist.ownAddresses };
  const daemon: Record<string, unknown> = {
    check_interval: formatDuration(config.daemon.checkIntervalSeconds),
    reap_interval: formatDuration(config.daemon.reapIntervalSeconds),
  };
  if (config.daemon.metrics !== undefined) daemon['metrics'] = config.daemon.metrics;
  if (config.daemon.metricsFile !== undefined) daemon['metrics_file'] = config.daemon.metricsFile;
  const filters = Object.fromEntries(
    [...config.filters].map(([name, filter]) => [
      name,
      {
        programs: filter.programs,
        patterns: filter.patterns,
        ignore: filter.ignore,
        client_text: filter.clientText ?? 'anywhere',
        ...(filter.delimiter === undefined ? {} : { delimiter: filter.delimiter }),
      },
    ]),
  );
  const remotes = Object.fromEntries(
    [...config.remotes].map(([name, remote]) => [
      name,
      Object.fromEntries(
        Object.entries({
          host: remote.host,
          port: remote.port,
          user: remote.user,
          key: remote.key,
          known_hosts: remote.knownHosts,
          strict_host_key_checking: remote.strictHostKeyChecking,
        }).filter(([, value]) => value !== undefined),
      ),
    ]),
  );
  const serve = { keys: Object.fromEntries(Object.entries(config.serve.keys).map(([name, rights]) => [name, { rights }])) };
  const fleet = config.fleet;
  const fleetTable =
    fleet === undefined
      ? {}
      : {
          fleet: Object.fromEntries(
            Object.entries({
              name: fleet.name,
              servers: fleet.servers,
              user: fleet.auth.kind === 'password' ? fleet.auth.user : undefined,
              password_file: fleet.auth.kind === 'password' ? fleet.auth.passwordFile : undefined,
              nkey_seed_file: fleet.auth.kind === 'nkey' ? fleet.auth.seedFile : undefined,
              creds_file: fleet.auth.kind === 'creds' ? fleet.auth.file : undefined,
              tls_ca: fleet.tls.ca,
              tls_cert: fleet.tls.cert,
              tls_key: fleet.tls.key,
              replicas: fleet.replicas,
              retention: formatDuration(fleet.retentionSeconds),
            }).filter(([, value]) => value !== undefined),
          ),
        };
  return { firewall: { backend: config.backend }, safelist, daemon, serve, ...fleetTable, remotes, filters, jails };
}

// The built-in filters for --json: what `xtban config show` prints as comments for the TOML form.
export function builtinFiltersJson(): Record<string, unknown> {
  return Object.fromEntries([...BUILTIN_FILTERS.values()].map((filter) => [filter.name, describeFilter(filter)]));
}

// The effective config as TOML that loads back to the same config.
export function effectiveConfigToml(config: Config): string {
  const effective = effectiveConfig(config);
  const jails = effective['jails'] as Record<string, Record<string, unknown>>;
  const forFile: Record<string, unknown> = { ...effective, jails: {} };
  for (const [name, jail] of Object.entries(jails)) {
    (forFile['jails'] as Record<string, unknown>)[name] = Object.fromEntries(Object.entries(jail).filter(([key]) => !DERIVED_KEYS.includes(key)));
  }
  return `# effective config from ${config.source}, defaults included\n${stringifyToml(forFile)}\n${builtinFiltersToml()}`;
}

// The built-in filters as [filters] tables, commented out: copy one under a name of your own to adapt it.
// Modes are the sshd filter's: its table holds the aggressive mode's patterns, each mode's named above it.
export function builtinFiltersToml(): string {
  const lines = [
    '# Built-in filters (xtban filters lists them). To adapt one, copy its table under a name of your',
    '# own, uncomment it and point a source at it with filter = "NAME".',
  ];
  for (const filter of BUILTIN_FILTERS.values()) {
    const spec = builtinSpec(filter, filter.modes?.includes('aggressive') ? 'aggressive' : 'normal');
    const table: Record<string, unknown> = { programs: spec.programs, patterns: spec.patterns, client_text: spec.clientText ?? 'anywhere' };
    if (spec.delimiter !== undefined) table['delimiter'] = spec.delimiter;
    if (spec.ignore.length > 0) table['ignore'] = spec.ignore;
    const body = stringifyToml({ filters: { [`my-${filter.name}`]: table } });
    lines.push('', `# ${filter.name}: ${filter.catches}`);
    if (filter.modes) {
      for (const rule of filter.rules) lines.push(`#   ${rule.role ?? 'failure'} in ${(rule.modes ?? filter.modes).join(', ')}: ${rule.pattern}`);
    }
    for (const line of body.trimEnd().split('\n')) lines.push(`# ${line}`);
  }
  return `${lines.join('\n')}\n`;
}
