import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import { packageVersion } from '../version.js';
import {
  examples,
  defineApply,
  defineBan,
  defineBans,
  defineCheck,
  defineConfigCheck,
  defineConfigShow,
  defineDaemon,
  defineFilters,
  defineFlush,
  defineInstall,
  defineReap,
  defineRemoteCheck,
  defineRemoteDeliver,
  defineRemoteForgetDead,
  defineFleetStatus,
  defineRestore,
  defineScan,
  defineServe,
  defineStatus,
  defineTeardown,
  defineUnban,
} from './commands.js';
import { forgetJsonResult, jsonResultPrinted } from './output.js';
import { LOG_LEVELS } from '../log-levels.js';
import { ExitCode, inputError, XtbanError } from '../core/errors.js';
import { isJournalStream, journalNote, LOG_FORMATS } from '../log-format.js';

const EXIT_CODES = `
Exit codes:
  0  ok
  1  a check found something missing, or only part of a batch succeeded
  2  bad command line, address, name, duration or config file (nothing was written)
  3  the kernel or iptables refused or failed (a missing list: run \`xtban apply\`)
  4  the address is safelisted and was refused
  70 an error xtban did not expect: a bug (the message says where)`;

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
      const options = command.optsWithGlobals();
      const positional = args.slice(0, -2);
      const action = (await load()) as unknown as (...rest: unknown[]) => Promise<number>;
      outcome.code = await action(...positional, options);
    };
}

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

  program.addCommand(
    defineApply()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./apply.js')).applyCommand as Action)),
  );

  program.addCommand(
    defineTeardown()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./teardown.js')).teardownCommand as Action)),
  );

  program.addCommand(
    defineCheck()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./check.js')).checkCommand as Action)),
  );

  program.addCommand(
    defineBan()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./ban.js')).banAddresses as Action)),
  );

  program.addCommand(
    defineUnban()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./ban.js')).unbanAddresses as Action)),
  );

  program.addCommand(
    defineFlush()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./ban.js')).flushCommand as Action)),
  );

  program.addCommand(
    defineStatus()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./status.js')).statusCommand as Action)),
  );

  program.addCommand(
    defineRestore()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./restore.js')).restoreCommand as Action)),
  );

  program.addCommand(
    defineReap()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./reap.js')).reapCommand as Action)),
  );

  program.addCommand(
    defineServe()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./serve.js')).serveCommand as Action)),
  );

  program.addCommand(
    defineScan()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./scan.js')).scanCommand as Action)),
  );

  program.addCommand(
    defineFilters()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./filters.js')).filtersCommand as Action)),
  );

  program.addCommand(
    defineDaemon()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./daemon.js')).daemonCommand as Action)),
  );

  program.addCommand(
    defineBans()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./bans.js')).bansCommand as Action)),
  );

  program.addCommand(
    defineInstall()
      .copyInheritedSettings(program)
      .action(run(async () => (await import('./install.js')).installCommand as Action)),
  );

  const remote = program.command('remote').description('central firewalls reached over ssh ([remotes] in the config)');
  remote.addCommand(
    defineRemoteCheck()
      .copyInheritedSettings(remote)
      .action(run(async () => (await import('./remote.js')).remoteCheckCommand as Action)),
  );
  remote.addCommand(
    defineRemoteDeliver()
      .copyInheritedSettings(remote)
      .action(run(async () => (await import('./remote.js')).remoteDeliverCommand as Action)),
  );
  remote.addCommand(
    defineRemoteForgetDead()
      .copyInheritedSettings(remote)
      .action(run(async () => (await import('./remote.js')).remoteForgetDeadCommand as Action)),
  );

  const fleet = program.command('fleet').description('the hosts that share bans through NATS JetStream ([fleet] in the config)');
  fleet.addCommand(
    defineFleetStatus()
      .copyInheritedSettings(fleet)
      .action(run(async () => (await import('./fleet.js')).fleetStatusCommand as Action)),
  );

  const config = program.command('config').description('validate or print the config file');
  config.addCommand(
    defineConfigCheck()
      .copyInheritedSettings(config)
      .action(run(async () => (await import('./config.js')).configCheckCommand as Action)),
  );
  config.addCommand(
    defineConfigShow()
      .copyInheritedSettings(config)
      .action(run(async () => (await import('./config.js')).configShowCommand as Action)),
  );

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
