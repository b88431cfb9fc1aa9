import { Command, Option } from '@commander-js/extra-typings';
import type { GlobalOptions } from './context.js';

// Every command's definition: its arguments, options and help, without its action. program.ts gives
// each its action; each command's options type comes from here (OptionsOf), so a command can read only
// the flags its parser defines.

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

const jsonOption = () => new Option('--json', 'print the result as JSON on stdout');
const jailOption = () => new Option('-j, --jail <name>', 'only this jail (default: every jail)');

// The options a command's action gets: its own, as its definition declares them, and the program's.
export type OptionsOf<Define extends () => { opts(): object }> = ReturnType<ReturnType<Define>['opts']> & GlobalOptions;

// The definition of `xtban apply`.
export function defineApply() {
  return new Command('apply')
    .description("create or repair every jail's chain and jumps (one atomic iptables-restore per family), then restore the store's live bans")
    .option('-n, --dry-run', 'print the exact ruleset that would be restored and change nothing')
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban apply', 'xtban apply --dry-run', 'xtban --config ./xtban.toml apply --json'));
}
export type ApplyOptions = OptionsOf<typeof defineApply>;

// The definition of `xtban teardown`.
export function defineTeardown() {
  return new Command('teardown')
    .description("remove the jails' jumps and chains (and so their lists), nothing else")
    .addOption(jailOption())
    .option('-n, --dry-run', 'print what would be removed and change nothing')
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban teardown', 'xtban teardown --jail ssh --dry-run'));
}
export type TeardownOptions = OptionsOf<typeof defineTeardown>;

// The definition of `xtban check`.
export function defineCheck() {
  return new Command('check')
    .description("exit 0 when every jail's chain, jump and list is in place, else list what is missing and exit 1")
    .addOption(jailOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban check', 'xtban check --jail ssh --json', 'xtban check || xtban apply'));
}
export type CheckOptions = OptionsOf<typeof defineCheck>;

// The definition of `xtban ban`.
export function defineBan() {
  return new Command('ban')
    .description("record bans in the store, then add the addresses to the jails' lists (+ADDR): dropped until silent for the window")
    .argument('<address...>', 'IPv4 or IPv6 addresses (::ffff:192.0.2.7 is 192.0.2.7)')
    .addOption(jailOption())
    .option('-p, --permanent', 'never expires and is always restored (a permanent blocklist entry)')
    .option('--source <name>', 'who asked for the ban, recorded in the store (default: cli)')
    .option('--reason <text>', 'why, recorded in the store')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      examples('xtban ban 192.0.2.7', 'xtban ban 198.51.100.9 2001:db8::9 --jail ssh', 'xtban ban 203.0.113.66 --permanent --reason "scanner"'),
    );
}
export type BanOptions = OptionsOf<typeof defineBan>;

// The definition of `xtban unban`.
export function defineUnban() {
  return new Command('unban')
    .description("end the bans in the store and remove the addresses from the jails' lists (-ADDR)")
    .argument('<address...>', 'IPv4 or IPv6 addresses')
    .addOption(jailOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban unban 192.0.2.7', 'xtban unban 2001:db8::9 --jail ssh --json'));
}
export type UnbanOptions = OptionsOf<typeof defineUnban>;

// The definition of `xtban flush`.
export function defineFlush() {
  return new Command('flush')
    .description('end every ban of the jails in the store and empty their lists')
    .addOption(jailOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban flush --jail ssh', 'xtban flush'));
}
export type FlushOptions = OptionsOf<typeof defineFlush>;

// The definition of `xtban status`.
export function defineStatus() {
  return new Command('status')
    .description('what the kernel holds: per list use against capacity, live and stale; per entry last seen, age, time left, hits, TTL')
    .addOption(jailOption())
    .addOption(jsonOption())
    .option('--proc <dir>', 'read lists from this directory instead of /proc/net/xt_recent (no root needed)')
    .option('--clock <dir>', 'read timer_list, uptime, config.gz and captured-at from this directory instead of the live kernel')
    .option('--sys <dir>', 'read xt_recent module parameters under this directory instead of /sys')
    .addHelpText(
      'after',
      examples(
        'xtban status',
        'xtban status --jail ssh --json',
        'xtban status --proc ./fixtures/proc/net/xt_recent --clock ./fixtures/proc --sys ./fixtures/proc/sys',
      ),
    );
}
export type StatusOptions = OptionsOf<typeof defineStatus>;

// The definition of `xtban restore`.
export function defineRestore() {
  return new Command('restore')
    .description('put every live ban of the store back into the kernel lists (after a reload or a reboot); idempotent')
    .addOption(jailOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban restore', 'xtban restore --jail ssh --json'));
}
export type RestoreOptions = OptionsOf<typeof defineRestore>;

// The definition of `xtban reap`.
export function defineReap() {
  return new Command('reap')
    .description('remove entries whose window has passed and safelisted entries, end those bans in the store, put back missing live ones')
    .addOption(jailOption())
    .option('-n, --dry-run', 'print what would be removed and change nothing')
    .option('--proc <dir>', 'with --dry-run: plan over lists captured in this directory')
    .option('--clock <dir>', 'with --dry-run: the kernel clock captured in this directory')
    .option('--sys <dir>', 'read xt_recent module parameters under this directory instead of /sys')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      examples('xtban reap', 'xtban reap --dry-run --json', 'xtban reap --jail ssh', 'xtban reap --dry-run --proc ./lists --clock ./fixtures/proc'),
    );
}
export type ReapOptions = OptionsOf<typeof defineReap>;

// The definition of `xtban serve`.
export function defineServe() {
  return new Command('serve')
    .description('answer ban requests on stdin, one per line: the forced command of an ssh key on a central firewall')
    .requiredOption('--jails <list>', 'comma-separated jails this key may act on; every other jail is refused')
    .option(
      '--key <name>',
      'the name of this key: its bans are recorded as remote:NAME, and [serve.keys.NAME] rights = "own" | "ban-only" | "full" in the config say what else it may do (default: "own", end only its own bans; without --key its bans are recorded as remote)',
    )
    .addHelpText(
      'after',
      `\nProtocol (one request per line, one answer per request, "ok ...", "error refused: ..." or "error failed: ..."):\n  ping\n  ban JAIL ADDR [ADDR...]\n  unban JAIL ADDR [ADDR...]\n  query JAIL ADDR\n  flush JAIL\nA request may start with @ID: delivered again, it is answered "ok duplicate" and does nothing.\n"refused" is for good (sending it again gets the same answer); "failed" may pass (send it again later).\nWith rights "own" (the default), unban and flush end only the bans this key made: "ok unbanned 1; 1 not ours, kept: ADDR".\n${examples('xtban serve --jails ssh,web --key web1', 'printf "ping\\nban ssh 192.0.2.7\\n" | xtban serve --jails ssh')}\nIn authorized_keys:\n  command="/usr/local/bin/xtban serve --jails ssh,web --key web1",restrict ssh-ed25519 AAAA... xtban@web1\nIn the config (optional; without it the key may end only its own bans):\n  [serve.keys.web1]\n  rights = "full"\n`,
    );
}
export type ServeOptions = OptionsOf<typeof defineServe>;

// The definition of `xtban scan`.
export function defineScan() {
  return new Command('scan')
    .description(
      "run a filter over log files (syslog, a daemon's own log such as nginx's error.log, or journalctl -o json lines): failed attempts per address and who would be banned",
    )
    .argument('<file...>', 'log files to read')
    .option('-f, --filter <name>', "a built-in filter (xtban filters lists them) or one of the config's [filters] (default: sshd)")
    .option('--mode <mode>', 'the filter mode: normal, ddos or aggressive (sshd only; default: normal)')
    .option('--format <format>', "how lines are read: auto (syslog or the daemon's own, line by line), syslog, native, plain (default: auto)")
    .option('--maxretry <n>', 'failures that make a ban (default: 5)')
    .option('--findtime <duration>', 'within this long (default: 10m)')
    .option(
      '--threads <n>',
      'split large files (4 MB or more per thread) across this many threads; failures are still counted in line order (default: the number of CPUs)',
    )
    .addOption(jsonOption())
    .addHelpText(
      'after',
      examples(
        'xtban scan /var/log/auth.log',
        'xtban scan /var/log/auth.log --mode aggressive',
        'xtban scan --filter nginx-http-auth /var/log/nginx/error.log',
        'xtban scan big.log --threads 1',
        'journalctl -u ssh -o json > ssh.json && xtban scan ssh.json --maxretry 3 --findtime 1h --json',
      ),
    );
}
export type ScanOptions = OptionsOf<typeof defineScan>;

// The definition of `xtban filters`.
export function defineFilters() {
  return new Command('filters')
    .description('list the built-in filters: what each catches, the log it reads by default, its modes')
    .argument('[name]', 'show one filter whole: its programs, patterns and what each line counts as')
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban filters', 'xtban filters sshd', 'xtban filters --json'));
}
export type FiltersOptions = OptionsOf<typeof defineFilters>;

// The definition of `xtban daemon`.
export function defineDaemon() {
  return new Command('daemon')
    .description('run unattended: repair chains and bans within seconds of a reload, reap on a timer, serve metrics, reload the config on SIGHUP or change')
    .option('--check-interval <duration>', 'how often chains, jumps and lists are checked (default: [daemon] check_interval, 1s)')
    .option('--reap-interval <duration>', 'how often the reaper runs (default: [daemon] reap_interval, 60s)')
    .option('--metrics <host:port>', 'serve Prometheus metrics on http://HOST:PORT/metrics (a bare port means 127.0.0.1; default off)')
    .option('--metrics-file <path>', "also write the metrics to this file for node_exporter's textfile collector")
    .option('--flush-on-exit', 'empty the kernel lists on shutdown (default: bans stay in the kernel and keep working)')
    .addHelpText(
      'after',
      examples(
        'xtban daemon',
        'xtban daemon --metrics 127.0.0.1:9789 --log-level debug',
        'xtban daemon --metrics-file /var/lib/prometheus/node-exporter/xtban.prom',
      ),
    );
}
export type DaemonOptions = OptionsOf<typeof defineDaemon>;

// The definition of `xtban bans`.
export function defineBans() {
  return new Command('bans')
    .description("the store's view: every ban (live, permanent, expired, ended), whether the kernel holds it")
    .addOption(jailOption())
    .addOption(new Option('--state <state>', 'only bans in this state').choices(['live', 'permanent', 'expired', 'ended']))
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban bans', 'xtban bans --jail ssh --state live --json'));
}
export type BansOptions = OptionsOf<typeof defineBans>;

// The definition of `xtban install`.
export function defineInstall() {
  return new Command('install')
    .description('put the systemd units (running this installation), the fail2ban action and a starting config in place')
    .option('--units-dir <dir>', 'where the units go (default: /etc/systemd/system)')
    .option('--fail2ban-dir <dir>', "fail2ban's action.d (default: /etc/fail2ban/action.d, when it exists)")
    .option('--config-dir <dir>', 'where xtban.toml goes when missing; an existing one is kept (default: /etc/xtban)')
    .option('--bin <path>', 'the xtban command the units run (default: the one running now, where npm linked it)')
    .option('-n, --dry-run', 'say what would be written and write nothing')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      examples(
        'npm install -g ./xtban-0.1.0.tgz && xtban install',
        'xtban install --dry-run',
        'xtban install --units-dir /etc/systemd/system --bin /opt/xtban/bin/xtban',
      ),
    );
}
export type InstallOptions = OptionsOf<typeof defineInstall>;

// The definition of `xtban remote check`.
export function defineRemoteCheck() {
  return new Command('check')
    .description(
      'for every target: reachable, host key known, key accepted, xtban serve answering, jails permitted, requests queued and requests the firewall refused for good (set aside); says what to fix; exit 1 when anything is wrong or set aside',
    )
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban remote check', 'xtban remote check --json', 'xtban remote forget-dead fw   # once the refusals it lists are fixed'));
}
export type RemoteCheckOptions = OptionsOf<typeof defineRemoteCheck>;

// The definition of `xtban remote deliver`.
export function defineRemoteDeliver() {
  return new Command('deliver')
    .description('send every queued ban, unban and flush to the central firewalls now (the daemon does this continuously)')
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban remote deliver'));
}
export type RemoteDeliverOptions = OptionsOf<typeof defineRemoteDeliver>;

// The definition of `xtban remote forget-dead`.
export function defineRemoteForgetDead() {
  return new Command('forget-dead')
    .description('remove the requests a firewall refused for good (which `remote check` lists), for one target or, without one, for all')
    .argument('[target]', 'a [remotes] name (default: every target)')
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban remote forget-dead fw', 'xtban remote forget-dead --json'));
}
export type RemoteForgetDeadOptions = OptionsOf<typeof defineRemoteForgetDead>;

// The definition of `xtban fleet status`.
export function defineFleetStatus() {
  return new Command('status')
    .description(
      "the fleet as this host sees it: connected or not and to which server, the stream position and lag, the last decision of each other host, this host's decisions waiting in the outbox, and messages refused; exit 1 while not connected or with decisions waiting",
    )
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban fleet status', 'xtban fleet status --json | jq .lag'));
}
export type FleetStatusOptions = OptionsOf<typeof defineFleetStatus>;

// The definition of `xtban config check`.
export function defineConfigCheck() {
  return new Command('check')
    .description('validate the config file: exit 0 when valid, 2 with every problem and its key path otherwise')
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban config check', 'xtban --config ./xtban.toml config check'));
}
export type ConfigCheckOptions = OptionsOf<typeof defineConfigCheck>;

// The definition of `xtban config show`.
export function defineConfigShow() {
  return new Command('show')
    .description('print the effective config with every default (TOML, or --json)')
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban config show', 'xtban config show --json'));
}
export type ConfigShowOptions = OptionsOf<typeof defineConfigShow>;
