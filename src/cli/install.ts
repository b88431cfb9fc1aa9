import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomicSync } from '../adapters/atomic-file.js';
import { ExitCode, XtbanError } from '../core/errors.js';
import { planInstall, validateBinaryPath, type InstallStep, type ShippedFile } from '../core/install-plan.js';
import { listSizeAdvice } from '../core/list-size.js';
import { readModuleParameters } from '../adapters/module-params.js';
import { writeModprobeConf } from '../adapters/modprobe-conf.js';
import { parseConfigText } from '../config/parse.js';
import { createOutput } from './output.js';

import type { InstallOptions } from './commands.js';

// The installed package's root: dist/ holds this code, systemd/, fail2ban/ and config/ sit beside it.
function packageRoot(): string {
  return dirname(dirname(fileURLToPath(import.meta.url)));
}

// The CLI as the administrator runs it: the npm bin link this process was started through (argv[1]
// resolves to this package's dist/main.js), else dist/main.js itself.
export function installedBinary(root: string, argv1: string | undefined = process.argv[1]): string {
  const main = join(root, 'dist', 'main.js');
  if (argv1?.startsWith('/')) {
    try {
      if (realpathSync(argv1) === realpathSync(main)) return argv1;
    } catch {
      // fall through
    }
  }
  return main;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

// Replaced whole and synced, with the step's exact mode: a unit is never seen half written, and a
// crash leaves the old file or the new one.
function writeAtomically(step: InstallStep): void {
  mkdirSync(dirname(step.target), { recursive: true, mode: 0o755 });
  writeFileAtomicSync(step.target, step.text, { mode: step.mode, fsync: true });
}

// Where systemd cannot run the binary the units would name, said before anything is written.
export function binaryWarnings(binary: string, nodePath: string = process.execPath): string[] {
  const warnings: string[] = [];
  if (/^\/(home|root|run\/user)(\/|$)/.test(binary)) {
    warnings.push(
      `warning: ${binary} is under /home, /root or /run/user, which the units hide (ProtectHome=yes): they would fail with 203/EXEC. Install with npm's global prefix in /usr/local (npm install -g as root), or give --bin`,
    );
  }
  // `#!/usr/bin/env node` finds node on systemd's own PATH, not on this shell's.
  const systemPath = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  if (!systemPath.some((dir) => existsSync(join(dir, 'node')))) {
    warnings.push(
      `warning: no node in ${systemPath.join(':')}, where systemd looks for it; this one is ${nodePath}. Link it there (ln -s ${nodePath} /usr/local/bin/node) or the units fail with 203/EXEC`,
    );
  }
  return warnings;
}

// `xtban install`: the systemd units (ExecStart pointing at this installation), the fail2ban action
// and a starting config, from the installed package.
export async function installCommand(options: InstallOptions): Promise<number> {
  const out = createOutput(options.json === true);
  const root = packageRoot();
  const unitsDir = options.unitsDir ?? '/etc/systemd/system';
  const configDir = options.configDir ?? '/etc/xtban';
  const fail2banDir = options.fail2banDir ?? '/etc/fail2ban/action.d';
  const binary = options.bin ?? installedBinary(root);
  try {
    validateBinaryPath(binary);
  } catch (error) {
    throw new XtbanError(`--bin: ${(error as Error).message}`, { hint: 'give the absolute path of the xtban command, for example --bin /usr/local/bin/xtban' });
  }
  const shipped = (directory: string) => join(root, directory);
  if (!existsSync(shipped('systemd')))
    throw new XtbanError(`no systemd/ directory in ${root}: this is not an installed xtban package`, { exitCode: ExitCode.system });

  const files: ShippedFile[] = readdirSync(shipped('systemd'))
    .filter((name) => /\.(service|timer)$/.test(name))
    .sort()
    .map((name) => ({ target: join(unitsDir, name), text: readFileSync(join(shipped('systemd'), name), 'utf8'), keepExisting: false, mode: 0o644 }));
  // fail2ban's action only where fail2ban is installed (or a directory was named).
  const fail2ban = options.fail2banDir !== undefined || existsSync(fail2banDir);
  if (fail2ban)
    files.push({
      target: join(fail2banDir, 'xtban.conf'),
      text: readFileSync(join(shipped('fail2ban'), 'action.d', 'xtban.conf'), 'utf8'),
      keepExisting: false,
      mode: 0o644,
    });
  files.push({ target: join(configDir, 'xtban.toml'), text: readFileSync(join(shipped('config'), 'xtban.toml'), 'utf8'), keepExisting: true, mode: 0o644 });

  for (const warning of binaryWarnings(binary)) out.note(warning);
  const steps = planInstall(files, binary, new Map(files.map((file) => [file.target, read(file.target)])));
  if (!options.dryRun) for (const step of steps) if (step.action === 'write') writeAtomically(step);

  // The config as it will be (the administrator's own, kept): a jail above ip_list_tot gets the module
  // option that gives it one list, as apply writes it.
  const configStep = steps.find((step) => step.target === join(configDir, 'xtban.toml'));
  let listSize: { path: string; result: string; wanted: number; takesEffect: string | undefined } | undefined;
  try {
    const config = configStep ? parseConfigText(configStep.text, configStep.target) : undefined;
    const parameters = await readModuleParameters();
    const advice = config ? listSizeAdvice(config.jails, parameters.ipListTot, parameters.loading) : undefined;
    if (advice?.conf !== undefined && advice.wanted !== undefined) {
      const written = options.dryRun ? undefined : writeModprobeConf(advice.conf);
      listSize = {
        path: written?.path ?? '/etc/modprobe.d/xtban.conf',
        result: written === undefined ? 'would write' : typeof written.result === 'string' ? written.result : `failed: ${written.result.error}`,
        wanted: advice.wanted,
        takesEffect: advice.takesEffect,
      };
    }
  } catch (error) {
    out.note(`note: the list size was not checked: ${error instanceof Error ? error.message.split('\n')[0] : String(error)} (xtban config check says more)`);
  }

  out.result({
    binary,
    dryRun: options.dryRun === true,
    fail2ban,
    files: steps.map(({ target, action }) => ({ path: target, action })),
    listSize: listSize ?? null,
  });
  const verb = options.dryRun ? 'would write' : 'wrote';
  for (const step of steps) out.line(`${step.action === 'write' ? verb : step.action === 'kept' ? 'kept (yours)' : 'unchanged'}  ${step.target}`);
  if (!fail2ban) out.line(`skipped   the fail2ban action (${fail2banDir} does not exist; --fail2ban-dir DIR to install it anyway)`);
  if (listSize)
    out.line(
      `${listSize.result === 'written' ? 'wrote' : listSize.result}  ${listSize.path} (ip_list_tot=${listSize.wanted}: one list a jail; ${listSize.takesEffect})`,
    );
  out.line(`\nThe units run ${binary}. Next:`);
  out.line(`  xtban config check                       # then edit ${join(configDir, 'xtban.toml')} to your jails`);
  out.line('  systemctl daemon-reload');
  out.line('  systemctl enable --now xtban.service     # or: xtban-apply.service xtban-reap.timer, without the daemon');
  return ExitCode.ok;
}
