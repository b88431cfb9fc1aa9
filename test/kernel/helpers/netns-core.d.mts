// Types of netns-core.mjs, for the TypeScript side of the kernel tests.
import type { Options, ResultPromise } from 'execa';

export declare const NAME_PREFIX: 'xtb-';
export declare function namespaceName(short: string, ...parts: ReadonlyArray<string | number>): string;
export declare function ownerPid(ns: string): number | undefined;
export declare function assertOurs(ns: string): void;
export declare function pidAlive(pid: number): boolean;
export declare function addNamespaces(names: readonly string[]): Promise<void>;
export declare function execIn<O extends Options = {}>(ns: string, command: string, args?: readonly string[], options?: O): ResultPromise<O>;
export declare function deleteNamespace(ns: string): Promise<void>;
export declare function deleteNamespaceSync(ns: string): void;
export declare function sweepLeftovers(remove?: (ns: string) => Promise<void>): Promise<string[]>;
