// Types of stock-kernel-vm.mjs for the tests.
export declare const STOCK_KERNEL_DIR: string;
export declare function stockKernel(dir?: string): { version: string; vmlinuz: string; boot: string; modules: string } | undefined;
export declare function stockKernelMissing(dir?: string): string | undefined;
export declare function runInStockKernel(
  script: string,
  options: { work: string; timeoutMs?: number; memoryMb?: number; cpus?: number; accel?: string },
): Promise<{ exitCode: number; output: string; serial: string; out: string }>;
