import type { Family } from '../core/address.js';
import { parseDuration } from '../core/duration.js';
import type { FilterSpec } from '../core/filter.js';
import { chainName } from '../core/names.js';
import { parsePortSpec, parseRate } from '../core/rule-values.js';
import type { Config, DaemonConfig, FleetConfig, JailConfig, RemoteTarget, ServeConfig, SourceConfig } from '../core/domain.js';
import { defaultLogPrefix, type ConfigParsed } from './schema.js';

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
    const tierWindows = (jail.tiers ?? [jail.window ?? '1h']).map((window) => parseDuration(window));
    return {
      name,
      chain: chainName(name),
      list: jail.list ?? `xtban-${name}`,
      protocol: jail.protocol,
      ports: (jail.ports ?? []).map((port) => parsePortSpec(port)),
      tierWindows,
      windowSeconds: tierWindows[0] ?? 3600,
      capacity: jail.capacity,
      mask: { 4: jail.mask?.ipv4 ?? 32, 6: jail.mask?.ipv6 ?? 128 },
      action: jail.action,
      families,
      hooks: jail.hooks,
      log,
      maxretry: jail.maxretry,
      findtimeSeconds: parseDuration(jail.findtime),
      sources: jail.sources.map(
        (source): SourceConfig => (source.type === 'journal' ? { ...source, unit: source.unit, identifier: source.identifier } : source),
      ),
      detect: jail.detect === undefined ? undefined : { hitcount: jail.detect.hitcount, seconds: parseDuration(jail.detect.seconds) },
      remotes: jail.remote,
      remoteOnly: jail.remote_only,
      fleet: jail.fleet,
    };
  });
  const safelist = { addresses: parsed.safelist.addresses, files: parsed.safelist.files, ownAddresses: parsed.safelist.own_addresses };
  const daemon: DaemonConfig = {
    checkIntervalSeconds: parseDuration(parsed.daemon.check_interval),
    reapIntervalSeconds: parseDuration(parsed.daemon.reap_interval),
    metrics: parsed.daemon.metrics,
    metricsFile: parsed.daemon.metrics_file,
  };
  const filters = new Map(
    Object.entries(parsed.filters).map(([name, filter]): [string, FilterSpec] => [
      name,
      {
        name,
        programs: filter.programs,
        patterns: filter.patterns,
        ignore: filter.ignore,
        clientText: filter.client_text,
        ...(filter.delimiter === undefined ? {} : { delimiter: filter.delimiter }),
      },
    ]),
  );
  const remotes = new Map(
    Object.entries(parsed.remotes).map(([name, remote]): [string, RemoteTarget] => [
      name,
      {
        name,
        host: remote.host,
        port: remote.port,
        user: remote.user,
        key: remote.key,
        knownHosts: remote.known_hosts,
        strictHostKeyChecking: remote.strict_host_key_checking,
      },
    ]),
  );
  const serve: ServeConfig = { keys: Object.fromEntries(Object.entries(parsed.serve.keys).map(([name, key]) => [name, key.rights])) };
  return { source, backend: parsed.firewall.backend, safelist, daemon, serve, filters, remotes, fleet: normalizeFleet(parsed.fleet, jails), jails };
}

// The default retention is the longest window of a shared jail (a permanent ban's lasts in the live
// bans stream, which keeps no age), and never under an hour.
function normalizeFleet(fleet: ConfigParsed['fleet'], jails: readonly JailConfig[]): FleetConfig | undefined {
  if (fleet === undefined) return undefined;
  const longest = Math.max(3600, ...jails.filter((jail) => jail.fleet).flatMap((jail) => jail.tierWindows));
  const auth: FleetConfig['auth'] =
    fleet.user !== undefined && fleet.password_file !== undefined
      ? { kind: 'password', user: fleet.user, passwordFile: fleet.password_file }
      : fleet.nkey_seed_file !== undefined
        ? { kind: 'nkey', seedFile: fleet.nkey_seed_file }
        : fleet.creds_file !== undefined
          ? { kind: 'creds', file: fleet.creds_file }
          : { kind: 'none' };
  return {
    name: fleet.name,
    servers: fleet.servers,
    auth,
    tls: { ca: fleet.tls_ca, cert: fleet.tls_cert, key: fleet.tls_key },
    replicas: fleet.replicas,
    retentionSeconds: fleet.retention === undefined ? longest : parseDuration(fleet.retention),
  };
}
