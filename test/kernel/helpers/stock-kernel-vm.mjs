// Debian's stock kernel in a throwaway virtual machine, for what this machine's own kernel cannot show:
// there xt_recent is a loadable module, so ip_list_tot follows /etc/modprobe.d at its next load. Shared by
// the kernel test (stock-kernel.test.ts) and the benchmark (bench/run.mjs); plain ES module, no build.
//
// scripts/setup.sh unpacks the kernel package (linux-image-<version>-amd64) into STOCK_KERNEL_DIR. The VM
// boots that kernel with a small initramfs (busybox and the modules that mount a 9p share), mounts this
// machine's / read-only through 9p with a tmpfs over it (an overlay: what the VM writes is lost when it
// stops), binds the kernel's modules into /lib/modules and runs one script as root in that root. A second,
// writable share is the script's OUT directory: what it writes there is what the caller reads back. The VM
// has no network device; its namespaces are its own. It powers off when the script ends, or when the time
// is up (the caller kills qemu).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STOCK_KERNEL_DIR = process.env.XTBAN_STOCK_KERNEL_DIR ?? '/var/cache/xtban-test/stock-kernel';

// The modules the initramfs loads, in an order that meets their dependencies: virtio's PCI transport, 9p
// over virtio, and overlayfs.
const INITRAMFS_MODULES = [
  'drivers/virtio/virtio_ring.ko',
  'drivers/virtio/virtio.ko',
  'drivers/virtio/virtio_pci_legacy_dev.ko',
  'drivers/virtio/virtio_pci_modern_dev.ko',
  'drivers/virtio/virtio_pci.ko',
  'fs/netfs/netfs.ko',
  'fs/fscache/fscache.ko',
  'net/9p/9pnet.ko',
  'net/9p/9pnet_virtio.ko',
  'fs/9p/9p.ko',
  'fs/overlayfs/overlay.ko',
];

// The unpacked kernel: its version, vmlinuz and modules directory; undefined when setup has not made it.
export function stockKernel(dir = STOCK_KERNEL_DIR) {
  const modulesRoot = join(dir, 'lib', 'modules');
  if (!existsSync(modulesRoot)) return undefined;
  const version = readdirSync(modulesRoot).find((name) => existsSync(join(dir, 'boot', `vmlinuz-${name}`)));
  if (version === undefined) return undefined;
  const modules = join(modulesRoot, version);
  if (!existsSync(join(modules, 'modules.dep'))) return undefined;
  return { version, vmlinuz: join(dir, 'boot', `vmlinuz-${version}`), boot: join(dir, 'boot'), modules };
}

// Why a VM cannot run here, or undefined when it can: the kernel, qemu and busybox must be in place.
export function stockKernelMissing(dir = STOCK_KERNEL_DIR) {
  if (stockKernel(dir) === undefined) return `no stock kernel unpacked in ${dir} (bash scripts/setup.sh as root makes it)`;
  for (const tool of ['qemu-system-x86_64', 'busybox', 'cpio']) {
    try {
      execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (bash scripts/setup.sh as root installs it)`;
    }
  }
  return undefined;
}

// The init of the initramfs: load the modules, mount the shares and the overlay, run the script, power off.
const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
while read -r module; do insmod "/mods/$module" || echo "xtban-vm: insmod $module failed"; done < /mods/order
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288 hostroot /lower || { echo "xtban-vm: no root share"; poweroff -f; }
mount -t tmpfs -o size=6g tmpfs /upper && mkdir -p /upper/u /upper/w
mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /root || { echo "xtban-vm: no overlay"; poweroff -f; }
version=$(uname -r)
mkdir -p "/root/lib/modules/$version" /root/xtban-vm-out
mount --bind "/root$(cat /mods/modules)" "/root/lib/modules/$version"
# The kernel's config where Debian installs it, as on a host that runs this kernel (xtban reads HZ there).
cp "/root$(cat /mods/boot)/config-$version" "/root/boot/config-$version"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 out /root/xtban-vm-out || { echo "xtban-vm: no out share"; poweroff -f; }
mount -t proc proc /root/proc; mount -t sysfs sys /root/sys; mount -t devtmpfs dev /root/dev
mount -t tmpfs tmpfs /root/run
echo "xtban-vm: running"
# The overlay becomes the root of PID 1 too, so that the kernel's own module loads (its modprobe helper
# runs in PID 1's root) find the modules; sysrq powers the VM off when the script ends.
exec switch_root /root /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root OUT=/xtban-vm-out \
  /bin/bash -c 'bash /xtban-vm-out/script.sh > /xtban-vm-out/console.log 2>&1; echo $? > /xtban-vm-out/exit; sync; echo o > /proc/sysrq-trigger; sleep 60'
`;

// Builds the initramfs (an uncompressed newc archive, work/initrd.cpio) for the kernel.
function initramfs(kernel, work) {
  const tree = join(work, 'initramfs');
  for (const dir of ['bin', 'mods', 'proc', 'sys', 'dev', 'lower', 'upper', 'root']) mkdirSync(join(tree, dir), { recursive: true });
  copyFileSync(execFileSync('sh', ['-c', 'command -v busybox']).toString().trim(), join(tree, 'bin', 'busybox'));
  chmodSync(join(tree, 'bin', 'busybox'), 0o755);
  const order = INITRAMFS_MODULES.map((path) => {
    const name = path.split('/').pop();
    copyFileSync(join(kernel.modules, 'kernel', path), join(tree, 'mods', name));
    return name;
  });
  writeFileSync(join(tree, 'mods', 'order'), `${order.join('\n')}\n`);
  writeFileSync(join(tree, 'mods', 'modules'), kernel.modules);
  writeFileSync(join(tree, 'mods', 'boot'), kernel.boot);
  writeFileSync(join(tree, 'init'), INIT, { mode: 0o755 });
  const files = execFileSync('find', ['.'], { cwd: tree }).toString();
  const archive = execFileSync('cpio', ['--quiet', '-o', '-H', 'newc'], { cwd: tree, input: files, maxBuffer: 64 << 20 });
  const image = join(work, 'initrd.cpio');
  writeFileSync(image, archive);
  return image;
}

// Boots the stock kernel and runs `script` (bash) as root inside. work is a fresh directory of the caller's:
// the script finds OUT (work/out in here) to write results to. Resolves with the script's exit code, what it
// printed, and the serial console; rejects when the VM did not finish in timeoutMs.
export async function runInStockKernel(script, { work, timeoutMs = 600_000, memoryMb = 4096, cpus = 2, accel = process.env.XTBAN_VM_ACCEL ?? 'tcg,thread=multi' }) {
  const kernel = stockKernel();
  if (kernel === undefined) throw new Error(stockKernelMissing());
  const out = join(work, 'out');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'script.sh'), script);
  const image = initramfs(kernel, work);
  // TCG, not KVM: this machine's KVM runs only guests built for it (kvm_pvm); the figures are ratios taken
  // inside one VM, never compared with the host's.
  const args = [
    '-accel', accel, '-cpu', 'max', '-smp', String(cpus), '-m', String(memoryMb), '-nographic', '-no-reboot', '-net', 'none',
    '-kernel', kernel.vmlinuz, '-initrd', image,
    '-append', 'console=ttyS0 quiet panic=-1',
    '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap',
    '-virtfs', `local,path=${out},mount_tag=out,security_model=passthrough`,
  ];
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let serial = '';
  qemu.stdout.on('data', (chunk) => (serial += chunk));
  qemu.stderr.on('data', (chunk) => (serial += chunk));
  const timer = setTimeout(() => qemu.kill('SIGKILL'), timeoutMs);
  const code = await new Promise((resolve) => qemu.once('exit', (status, signal) => resolve(signal ?? status)));
  clearTimeout(timer);
  const read = (name) => (existsSync(join(out, name)) ? readFileSync(join(out, name), 'utf8') : undefined);
  const exit = read('exit');
  if (exit === undefined) throw new Error(`the stock-kernel VM ended (${code}) before its script finished${code === 'SIGKILL' ? ` (${timeoutMs / 1000} s were up)` : ''}:\n${serial.slice(-4000)}\n${read('console.log') ?? ''}`);
  return { exitCode: Number(exit.trim()), output: read('console.log') ?? '', serial, out };
}
