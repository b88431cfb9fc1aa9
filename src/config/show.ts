import { stringify as stringifyToml } from 'smol-toml';
import { formatDuration } from '../core/duration.js';
import type { Config } from './schema.js';

// The effective config in the file's own shape, every default written out.
export function effectiveConfig(config: Config): Record<string, unknown> {
  const jails: Record<string, unknown> = {};
  for (const jail of config.jails) {
    const entry: Record<string, unknown> = {
      protocol: jail.protocol,
      window: formatDuration(jail.windowSeconds),
      window_seconds: jail.windowSeconds,
      action: jail.action,
      family: jail.families.length === 2 ? 'both' : jail.families[0] === 4 ? 'ipv4' : 'ipv6',
      hooks: jail.hooks,
      list: jail.list,
      chain: jail.chain,
      lists: Object.fromEntries(jail.lists.map((list) => [`ipv${list.family}`, list.name])),
    };
    if (jail.ports.length > 0) entry['ports'] = jail.ports.map((port) => (/^\d+$/.test(port) ? Number(port) : port));
    if (jail.log) entry['log'] = { ...jail.log };
    jails[jail.name] = entry;
  }
  return { firewall: { backend: config.backend }, jails };
}

// TOML for people; derived keys (chain, window_seconds) are shown as comments-free values for clarity.
export function effectiveConfigToml(config: Config): string {
  const effective = effectiveConfig(config);
  const jails = effective['jails'] as Record<string, Record<string, unknown>>;
  const forFile: Record<string, unknown> = { firewall: effective['firewall'], jails: {} };
  for (const [name, jail] of Object.entries(jails)) {
    const { chain: _chain, window_seconds: _seconds, lists: _lists, ...rest } = jail;
    (forFile['jails'] as Record<string, unknown>)[name] = rest;
  }
  return `# effective config from ${config.source}, defaults included\n${stringifyToml(forFile)}\n`;
}
