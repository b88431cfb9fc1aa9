import { execa, type ResultPromise } from 'execa';
import type { Backend } from '../core/domain.js';

// The command that reports ruleset changes: `nft monitor` prints a line per change of the nf_tables
// ruleset (rules and chains added or deleted by iptables-nft, nft, a restore) and flushes each. Not
// xtables-monitor: version 1.8.9 (Debian 12) exits on the first IPv6 rule with a port match it prints
// ("unsupported layer 4 protocol value"), which is every jail's jump.
export const MONITOR_COMMAND: readonly string[] = ['nft', 'monitor'];

// Whether changes to the ruleset can be watched, or why not: only the nf_tables backend reports them,
// through nft (package nftables). "auto" asks iptables which backend it is (Debian 12: nf_tables unless
// switched to legacy with update-alternatives).
export async function rulesetChangesUnreported(backend: Backend): Promise<string | undefined> {
  if (backend === 'legacy') return 'the legacy backend reports no changes';
  if (backend === 'auto') {
    const version = await execa('iptables', ['--version'], { reject: false });
    if (!version.stdout.includes('nf_tables')) return `iptables is not the nf_tables variant (${version.stdout.trim() || version.shortMessage})`;
  }
  const nft = await execa('nft', ['--version'], { reject: false });
  if (nft.failed) return 'nft is not installed (Debian: apt-get install nftables)';
  return undefined;
}

// Whether this check compares the whole ruleset (iptables-save) or only looks for the lists (a readdir):
// at once when reported changes have settled; otherwise every tenth check, or every sixtieth while
// changes are watched and none is under way (a backstop in case one was missed). While something keeps
// changing rules (a container runtime, a Kubernetes proxy) the reports never settle and the cadence is
// the unwatched one, so a busy host pays no more than without the monitor.
export function fullCheckDue(input: { count: number; watching: boolean; changed: boolean }): boolean {
  if (input.changed) return true;
  return input.count % (input.watching ? 60 : 10) === 0;
}

// How long the ruleset must stay unchanged after a report before it is compared: one `iptables -F;
// iptables -X` or a restore is several reports within milliseconds.
export const QUIET_MS = 200;

// Keeps nft monitor running and calls onChange once reported changes have settled (QUIET_MS without
// another report); restarts the monitor after it ends, 10 s later, twice as long after each quick end
// (at most 10 min: a monitor that cannot run is not retried, and logged, every 10 s forever). `watching` says
// whether it runs now, `changing` whether reports came in that have not settled yet.
export class RulesetWatch {
  private child: ResultPromise | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private quiet: NodeJS.Timeout | undefined;
  private quickEnds = 0;
  watching = false;
  changing = false;

  constructor(
    private readonly onChange: () => void,
    private readonly onEnd: (why: string) => void,
    private readonly command: readonly string[] = MONITOR_COMMAND,
    private readonly quietMs = QUIET_MS,
    private readonly retryMs = 10_000,
  ) {}

  private reported(): void {
    this.changing = true;
    clearTimeout(this.quiet);
    this.quiet = setTimeout(() => {
      this.changing = false;
      this.onChange();
    }, this.quietMs);
  }

  start(): void {
    const [file, ...args] = this.command;
    if (file === undefined || this.stopped) return;
    const child = execa(file, args, { buffer: false, reject: false, stdin: 'ignore', stderr: 'pipe' });
    const started = Date.now();
    this.child = child;
    this.watching = true;
    child.stdout?.on('data', () => this.reported());
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    void child.then((result) => {
      this.watching = false;
      if (this.stopped) return;
      this.quickEnds = Date.now() - started < 60_000 ? this.quickEnds + 1 : 0;
      const delayMs = Math.min(this.retryMs * 2 ** Math.max(0, this.quickEnds - 1), 60 * this.retryMs);
      this.onEnd(
        `${this.command.join(' ')} ended (exit ${result.exitCode ?? result.signal ?? '?'}): ${stderr.trim() || result.shortMessage}; restarting in ${delayMs / 1000} s`,
      );
      this.retry = setTimeout(() => this.start(), delayMs);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    clearTimeout(this.quiet);
    this.changing = false;
    this.child?.kill('SIGTERM');
    await this.child?.catch(() => undefined);
    this.watching = false;
  }
}
