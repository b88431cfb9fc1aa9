import { Command, CommanderError, Option } from 'commander';
import { packageVersion } from '../version.js';
import { forgetJsonResult, jsonResultPrinted } from './output.js';
import { LOG_LEVELS } from '../log-levels.js';
import { ExitCode, inputError, XtbanError } from '../core/errors.js';
import type { GlobalOptions } from './context.js';
import { isJournalStream, journalNote, LOG_FORMATS } from '../log-format.js';

const EXIT_CODES = `
Exit codes:
  0  ok
  1  a check found something missing, or only part of a batch succeeded
  2  bad command line, address, name, duration or config file (nothing was written)
  3  the kernel or iptables refused or failed (a missing list: run \`xtban apply\`)
  4  the address is safelisted and was refused
  70 an error xtban did not expect: a bug (the message says where)`;

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`;
}

// Every command module is loaded only when its command runs, so `xtban ban` starts fast.
type Action = (...args: never[]) => Promise<number>;

// The exit code of the command that ran, set by its action.
interface Outcome {
  code: number;
}

function runner(outcome: Outcome) {
  return (load: () => Promise<Action>) =>
    async (...args: unknown[]): Promise<void> => {
      const command = args[args.length - 1] as Command;
      const options = command.optsWithGlobals<GlobalOptions>();
      const positional = args.slice(0, -2);
      const action = (await load()) as unknown as (...rest: unknown[]) => Promise<number>;
      outcome.code = await action(...positional, options);
    };
}

const jsonOption = () => new Option('--json', 'print the result as JSON on stdout');
const jailOption = () => new Option('-j, --jail <name>', 'only this jail (default: every jail)');

// The program: global options, one subcommand per job.
export function buildProgram(outcome: Outcome = { code: ExitCode.ok }): Command {
  const run = runner(outcome);
  const program = new Command('xtban')
    .description(
      'Sliding-window bans in the kernel: iptables chains around the recent match (xt_recent),\nfed with offending addresses, read back to report state.',
    )
    .version(packageVersion())
    .option('-c, --config <path>', 'config file (default: $XTBAN_CONFIG or /etc/xtban/xtban.toml)')
    .option('--state-dir <dir>', 'where the ban store lives (default: $XTBAN_STATE_DIR or /var/lib/xtban)')
    .addOption(
      new Option('--log-level <level>', 'log on stderr at this level (default: $XTBAN_LOG_LEVEL, or warn; the daemon logs on stdout at info)').choices(
        LOG_LEVELS,
      ),
    )
    .addOption(
      new Option(
        '--log-format <format>',
        'auto: sentences with journald priorities under systemd, timed sentences elsewhere; json: one JSON object a line, for log shippers (default: $XTBAN_LOG_FORMAT or auto)',
      ).choices(LOG_FORMATS),
    )
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `${examples('xtban apply', 'xtban ban 192.0.2.7 --jail ssh', 'xtban status --json', 'xtban check || xtban apply')}${EXIT_CODES}\n`);

  program
    .command('apply')
    .description("create or repair every jail's chain and jumps (one atomic iptables-restore per family), then restore the store's live bans")
    .option('-n, --dry-run', 'print the exact ruleset that would be restored and change nothing')
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban apply', 'xtban apply --dry-run', 'xtban --config ./xtban.toml apply --json'))
    .action(run(async () => (await import('./apply.js')).applyCommand as Action));

  program
    .command('teardown')
    .description("remove the jails' jumps and chains (and so their lists), nothing else")
    .addOption(jailOption())
    .option('-n, --dry-run', 'print what would be removed and change nothing')
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban teardown', 'xtban teardown --jail ssh --dry-run'))
    .action(run(async () => (await import('./teardown.js')).teardownCommand as Action));

  program
    .command('check')
    .description("exit 0 when every jail's chain, jump and list is in place, else list what is missing and exit 1")
    .addOption(jailOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban check', 'xtban check --jail ssh --json', 'xtban check || xtban apply'))
    .action(run(async () => (await import('./check.js')).checkCommand as Action));

  program
    .command('ban')
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
    )
    .action(run(async () => (await import('./ban.js')).banAddresses as Action));

  program
    .command('unban')
    .description("end the bans in the store and remove the addresses from the jails' lists (-ADDR)")
    .argument('<address...>', 'IPv4 or IPv6 addresses')
    .addOption(jailOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban unban 192.0.2.7', 'xtban unban 2001:db8::9 --jail ssh --json'))
    .action(run(async () => (await import('./ban.js')).unbanAddresses as Action));

  program
    .command('flush')
    .description('end every ban of the jails in the store and empty their lists')
    .addOption(jailOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban flush --jail ssh', 'xtban flush'))
    .action(run(async () => (await import('./ban.js')).flushCommand as Action));

  program
    .command('status')
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
    )
    .action(run(async () => (await import('./status.js')).statusCommand as Action));

  program
    .command('restore')
    .description('put every live ban of the store back into the kernel lists (after a reload or a reboot); idempotent')
    .addOption(jailOption())
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban restore', 'xtban restore --jail ssh --json'))
    .action(run(async () => (await import('./restore.js')).restoreCommand as Action));

  program
    .command('reap')
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
    )
    .action(run(async () => (await import('./reap.js')).reapCommand as Action));

  program
    .command('serve')
    .description('answer ban requests on stdin, one per line: the forced command of an ssh key on a central firewall')
    .requiredOption('--jails <list>', 'comma-separated jails this key may act on; every other jail is refused')
    .option(
      '--key <name>',
      'the name of this key: its bans are recorded as remote:NAME, and [serve.keys.NAME] rights = "own" | "ban-only" | "full" in the config say what else it may do (default: "own", end only its own bans; without --key its bans are recorded as remote)',
    )
    .addHelpText(
      'after',
      `\nProtocol (one request per line, one answer per request, "ok ...", "error refused: ..." or "error failed: ..."):\n  ping\n  ban JAIL ADDR [ADDR...]\n  unban JAIL ADDR [ADDR...]\n  query JAIL ADDR\n  flush JAIL\nA request may start with @ID: delivered again, it is answered "ok duplicate" and does nothing.\n"refused" is for good (sending it again gets the same answer); "failed" may pass (send it again later).\nWith rights "own" (the default), unban and flush end only the bans this key made: "ok unbanned 1; 1 not ours, kept: ADDR".\n${examples('xtban serve --jails ssh,web --key web1', 'printf "ping\\nban ssh 192.0.2.7\\n" | xtban serve --jails ssh')}\nIn authorized_keys:\n  command="/usr/local/bin/xtban serve --jails ssh,web --key web1",restrict ssh-ed25519 AAAA... xtban@web1\nIn the config (optional; without it the key may end only its own bans):\n  [serve.keys.web1]\n  rights = "full"\n`,
    )
    .action(run(async () => (await import('./serve.js')).serveCommand as Action));

  program
    .command('scan')
    .description('run a filter over log files (syslog or journalctl -o json lines): matches per address and who would be banned')
    .argument('<file...>', 'log files to read')
    .option('-f, --filter <name>', "a built-in filter (sshd) or one of the config's [filters] (default: sshd)")
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
        'xtban scan big.log --threads 1',
        'journalctl -u ssh -o json > ssh.json && xtban scan ssh.json --maxretry 3 --findtime 1h --json',
      ),
    )
    .action(run(async () => (await import('./scan.js')).scanCommand as Action));

  program
    .command('daemon')
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
    )
    .action(run(async () => (await import('./daemon.js')).daemonCommand as Action));

  program
    .command('bans')
    .description("the store's view: every ban (live, permanent, expired, ended), whether the kernel holds it")
    .addOption(jailOption())
    .addOption(new Option('--state <state>', 'only bans in this state').choices(['live', 'permanent', 'expired', 'ended']))
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban bans', 'xtban bans --jail ssh --state live --json'))
    .action(run(async () => (await import('./bans.js')).bansCommand as Action));

  program
    .command('install')
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
    )
    .action(run(async () => (await import('./install.js')).installCommand as Action));

  const remote = program.command('remote').description('central firewalls reached over ssh ([remotes] in the config)');
  remote
    .command('check')
    .description(
      'for every target: reachable, host key known, key accepted, xtban serve answering, jails permitted, requests queued and requests the firewall refused for good (set aside); says what to fix; exit 1 when anything is wrong or set aside',
    )
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban remote check', 'xtban remote check --json', 'xtban remote forget-dead fw   # once the refusals it lists are fixed'))
    .action(run(async () => (await import('./remote.js')).remoteCheckCommand as Action));
  remote
    .command('deliver')
    .description('send every queued ban, unban and flush to the central firewalls now (the daemon does this continuously)')
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban remote deliver'))
    .action(run(async () => (await import('./remote.js')).remoteDeliverCommand as Action));
  remote
    .command('forget-dead')
    .description('remove the requests a firewall refused for good (which `remote check` lists), for one target or, without one, for all')
    .argument('[target]', 'a [remotes] name (default: every target)')
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban remote forget-dead fw', 'xtban remote forget-dead --json'))
    .action(run(async () => (await import('./remote.js')).remoteForgetDeadCommand as Action));

  const config = program.command('config').description('validate or print the config file');
  config
    .command('check')
    .description('validate the config file: exit 0 when valid, 2 with every problem and its key path otherwise')
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban config check', 'xtban --config ./xtban.toml config check'))
    .action(run(async () => (await import('./config.js')).configCheckCommand as Action));
  config
    .command('show')
    .description('print the effective config with every default (TOML, or --json)')
    .addOption(jsonOption())
    .addHelpText('after', examples('xtban config show', 'xtban config show --json'))
    .action(run(async () => (await import('./config.js')).configShowCommand as Action));

  return program;
}

// Under journald (a unit's ExecStart), the error lines are filed at priority err, not info.
function writeError(text: string): void {
  process.stderr.write(isJournalStream(2) ? journalNote(text, 3) : text);
}

// Says what failed on stderr and, under --json when no result was printed, as one JSON document on
// stdout, so a script never parses an empty stdout. An error xtban did not expect is a bug: it says
// so, with the stack, and exits 70, never 3 ("the kernel refused", which fail2ban acts on).
function report(error: unknown, json: boolean): number {
  const known = error instanceof XtbanError;
  const message = known ? error.message : error instanceof Error ? error.message : String(error);
  const hint = known ? error.hint : 'this is a bug in xtban: please report it with the lines above';
  const exitCode = known ? error.exitCode : ExitCode.bug;
  if (known) writeError(`xtban: ${message}\n${hint ? `  hint: ${hint}\n` : ''}`);
  else writeError(`xtban: internal error (a bug): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n  hint: ${hint}\n`);
  if (json && !jsonResultPrinted()) process.stdout.write(`${JSON.stringify({ error: { message, ...(hint ? { hint } : {}), exitCode, bug: !known } })}\n`);
  return exitCode;
}

// Entry: parse, run, map errors to exit codes.
export async function main(argv: string[]): Promise<number> {
  const outcome: Outcome = { code: ExitCode.ok };
  forgetJsonResult();
  const program = buildProgram(outcome);
  program.exitOverride();
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  try {
    // The environment's settings are input too: a typo there is an error, never a silent default.
    for (const [name, allowed] of [
      ['XTBAN_LOG_FORMAT', LOG_FORMATS],
      ['XTBAN_LOG_LEVEL', LOG_LEVELS],
    ] as const) {
      const value = process.env[name];
      if (value !== undefined && !(allowed as readonly string[]).includes(value))
        throw inputError(
          `${name}=${JSON.stringify(value)} is not one of ${allowed.join(', ')}`,
          `unset it or set one of those (systemd: systemctl edit xtban)`,
        );
    }
    await program.parseAsync(argv);
    return outcome.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage;
    }
    return report(error, argv.includes('--json'));
  }
}
