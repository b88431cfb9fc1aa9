import type { FilterMode } from './filters/builtin.js';
import type { FileFormat } from './log-line.js';
import type { Family } from './address.js';
import type { FilterSpec } from './filter.js';
import type { PortSpec } from './rule-values.js';
import type { ServeRights } from './serve-rights.js';

// The program's view of its configuration: jails, sources, remotes, the safelist, the daemon's and
// serve's settings. config/ turns a TOML file into it; core/ and the rest only ever see this.

// A jail as the rest of the program sees it: validated, defaults applied, durations in seconds.
export interface JailConfig {
  name: string;
  chain: string;
  // Base name of the jail's kernel lists (the `list` key); see core/layout.ts for the lists themselves.
  list: string;
  protocol: 'tcp' | 'udp' | 'all';
  // Empty: every port.
  ports: PortSpec[];
  // The window of each tier; one entry when the jail has no tiers. windowSeconds is the first.
  tierWindows: number[];
  windowSeconds: number;
  // Bans the jail must hold; above ip_list_tot it is spread over several lists (shards).
  capacity: number | undefined;
  // Prefix length per family: bans cover the whole network (32 and 128: single addresses).
  mask: Record<Family, number>;
  action: 'DROP' | 'REJECT';
  families: Family[];
  hooks: Hook[];
  log: { prefix: string; rate: string } | undefined;
  // Failures of one address within findtime that make a ban (for log and journal sources).
  maxretry: number;
  findtimeSeconds: number;
  sources: SourceConfig[];
  // In-kernel detection: hitcount new connections within seconds ban the address, no process involved.
  detect: { hitcount: number; seconds: number } | undefined;
  // Central firewalls ([remotes.NAME]) that get this jail's bans too, or only them (remoteOnly).
  remotes: string[];
  remoteOnly: boolean;
  // Shares its bans with the fleet ([fleet]): publishes what it decides and applies what others decide.
  fleet: boolean;
}

// How this host joins a fleet: the NATS servers, its name there, how it authenticates, and what the
// streams it creates keep.
export interface FleetConfig {
  name: string;
  servers: string[];
  auth: { kind: 'none' } | { kind: 'password'; user: string; passwordFile: string } | { kind: 'nkey'; seedFile: string } | { kind: 'creds'; file: string };
  tls: { ca: string | undefined; cert: string | undefined; key: string | undefined };
  replicas: number;
  // How long the decisions stream keeps a decision: at least the longest window of a shared jail.
  retentionSeconds: number;
}

// A central firewall reached over ssh, where `xtban serve` is the forced command of our key.
export interface RemoteTarget {
  name: string;
  // A host name, an address, or a Host alias of ssh_config.
  host: string;
  port: number | undefined;
  user: string | undefined;
  key: string | undefined;
  knownHosts: string | undefined;
  strictHostKeyChecking: boolean;
}

// Where offenders come from.
export type SourceConfig =
  // format syslog: "Nov 21 02:33:01 host prog[pid]: message" lines; native: a daemon's own file (nginx,
  // apache, vsftpd, MariaDB, dovecot, access logs); auto: either, line by line; plain: each line is a
  // message of the filter's program (such as sshd -E). mode: a built-in filter's (sshd's ddos...).
  | { type: 'file'; path: string; filter: string; mode: FilterMode; format: FileFormat }
  | { type: 'journal'; unit: string | undefined; identifier: string | undefined; filter: string; mode: FilterMode }
  | { type: 'list'; path: string; permanent: boolean };

export type Hook = 'INPUT' | 'FORWARD';
export type Backend = 'auto' | 'nft' | 'legacy';

// Addresses no path may ban.
export interface SafelistConfig {
  addresses: string[];
  files: string[];
  // Loopback and the host's own interface addresses.
  ownAddresses: boolean;
}

// How the daemon runs; each key is also a flag of `xtban daemon`.
export interface DaemonConfig {
  checkIntervalSeconds: number;
  reapIntervalSeconds: number;
  // "HOST:PORT" for the Prometheus endpoint, or undefined (off).
  metrics: string | undefined;
  metricsFile: string | undefined;
}

// What `xtban serve` grants each key (named by --key in its forced command) on this host, as a central
// firewall; a key not named here gets the default ("own": it may end only the bans it made).
export interface ServeConfig {
  keys: Record<string, ServeRights>;
}

export interface Config {
  // Where it was read from, for messages.
  source: string;
  serve: ServeConfig;
  backend: Backend;
  safelist: SafelistConfig;
  daemon: DaemonConfig;
  // The config's own filters ([filters.NAME]); the built-in ones are in core/filters.
  filters: Map<string, FilterSpec>;
  remotes: Map<string, RemoteTarget>;
  // Undefined: this host is in no fleet.
  fleet: FleetConfig | undefined;
  jails: JailConfig[];
}
