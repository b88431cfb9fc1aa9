// The filter table as iptables-save prints it: chains in order and their rules.
export interface FilterTable {
  chains: Map<string, { policy: string; rules: string[] }>;
}

// Parses the *filter section of iptables-save output; other tables are ignored.
export function parseFilterTable(text: string): FilterTable {
  const chains = new Map<string, { policy: string; rules: string[] }>();
  let inFilter = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      inFilter = line === '*filter';
      continue;
    }
    if (!inFilter) continue;
    if (line === 'COMMIT') {
      inFilter = false;
      continue;
    }
    if (line.startsWith(':')) {
      const [name = '', policy = '-'] = line.slice(1).split(' ');
      chains.set(name, { policy, rules: [] });
      continue;
    }
    if (line.startsWith('-A ')) {
      const name = line.slice(3, line.indexOf(' ', 3) === -1 ? undefined : line.indexOf(' ', 3));
      const chain = chains.get(name) ?? { policy: '-', rules: [] };
      chain.rules.push(line);
      chains.set(name, chain);
    }
  }
  return { chains };
}

// True when a rule line jumps to the given chain ("... -j CHAIN" or "... -g CHAIN" at the end).
export function jumpsTo(rule: string, chain: string): boolean {
  return rule.endsWith(` -j ${chain}`) || rule.endsWith(` -g ${chain}`);
}
