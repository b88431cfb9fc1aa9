import { execa } from 'execa';

// Loads a kernel module that is not loaded yet, through modprobe, which applies the options of every
// modprobe.d file; never unloads or reloads one. Resolves with why it could not, or undefined.
export async function loadModule(name: string): Promise<string | undefined> {
  const result = await execa('modprobe', [name], { reject: false, timeout: 30_000 });
  if (result.exitCode === 0) return undefined;
  return result.stderr.trim() || result.shortMessage;
}
