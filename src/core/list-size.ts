import type { JailConfig } from './domain.js';
import { shardCount } from './layout.js';

// How xt_recent is in this kernel, which decides how its ip_list_tot can change: built in (a boot
// parameter only), a loaded module (read again at its next load), or not loaded (its next load).
export type ModuleLoading = 'builtin' | 'module' | 'absent';

// Where the module's options go: modprobe reads every file of this directory when it loads a module.
export const MODPROBE_FILE = 'xtban.conf';

// What ip_list_tot allows the config's jails and what would be better: a jail whose capacity is above
// it has shards (a dispatch tree); at `wanted` every jail has one list per family and tier.
export interface ListSizeAdvice {
  current: number;
  // The value that gives every jail one list; undefined when the current one does.
  wanted: number | undefined;
  // The jails that have shards now, with how many.
  sharded: { jail: string; capacity: number; shards: number }[];
  loading: ModuleLoading;
  // The text of /etc/modprobe.d/xtban.conf for `wanted`.
  conf: string | undefined;
  // When a new value takes effect, in words an administrator can act on.
  takesEffect: string | undefined;
}

// Decides the advice from the jails, the value in force and how the module is loaded. xtban itself never
// unloads the module: that is possible only while no rule names a recent list, its own or another tool's.
export function listSizeAdvice(jails: readonly JailConfig[], current: number, loading: ModuleLoading): ListSizeAdvice {
  const sharded = jails
    .filter((jail) => !jail.remoteOnly)
    .map((jail) => ({ jail: jail.name, capacity: jail.capacity ?? 0, shards: shardCount(jail.capacity, current) }))
    .filter((jail) => jail.shards > 1);
  const wanted = sharded.length === 0 ? undefined : Math.max(...sharded.map((jail) => jail.capacity));
  if (wanted === undefined) return { current, wanted, sharded, loading, conf: undefined, takesEffect: undefined };
  const conf = `# Written by xtban apply: ${sharded.map((jail) => `jail ${jail.jail} holds ${jail.capacity}`).join(', ')} (one list each at this size).\noptions xt_recent ip_list_tot=${wanted}\n`;
  return { current, wanted, sharded, loading, conf, takesEffect: takesEffect(loading, current, wanted) };
}

function takesEffect(loading: ModuleLoading, current: number, wanted: number): string {
  switch (loading) {
    case 'builtin':
      return `xt_recent is built into this kernel, which reads no modprobe.d file for it: add xt_recent.ip_list_tot=${wanted} to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub) and reboot`;
    case 'module':
      return `xt_recent is loaded with ip_list_tot=${current}: the new value takes effect at its next load, after a reboot, or by hand once no rule names a recent list (xtban teardown, and every other tool's recent rules removed): modprobe -r xt_recent && modprobe xt_recent, then xtban apply; xtban never reloads the module itself`;
    case 'absent':
      return 'xt_recent is not loaded: xtban apply loads it with the new value (modprobe reads the file) before it lays out the jails, so each gets one list';
  }
}
