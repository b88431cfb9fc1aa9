import { inputError } from './errors.js';

// iptables chain names are at most 28 characters; every jail chain is "xtban-" + jail.
export const CHAIN_PREFIX = 'xtban-';
export const MAX_CHAIN_LENGTH = 28;
export const MAX_JAIL_LENGTH = MAX_CHAIN_LENGTH - CHAIN_PREFIX.length;
// xt_recent names are at most 199 characters (XT_RECENT_NAME_LEN 200 with the NUL).
export const MAX_LIST_LENGTH = 199;

const JAIL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const LIST_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

// Validates a jail name so that it is safe as an iptables chain name and in a file path.
export function validateJailName(name: string, where = 'jail'): string {
  if (name.length === 0) throw inputError(`${where}: empty jail name`);
  if (!JAIL_PATTERN.test(name)) {
    throw inputError(`${where}: ${JSON.stringify(name)} is not a valid jail name`, 'use letters, digits, "-" and "_", starting with a letter or digit');
  }
  if (name.length > MAX_JAIL_LENGTH) {
    throw inputError(
      `${where}: ${JSON.stringify(name)} is ${name.length} characters; at most ${MAX_JAIL_LENGTH} fit the ${MAX_CHAIN_LENGTH}-character iptables chain name "${CHAIN_PREFIX}${name}"`,
    );
  }
  return name;
}

// Validates a recent list name: it becomes a file name under /proc/net/xt_recent.
export function validateListName(name: string, where = 'list'): string {
  if (name.length === 0) throw inputError(`${where}: empty list name`);
  if (!LIST_PATTERN.test(name) || name === '.' || name === '..') {
    throw inputError(`${where}: ${JSON.stringify(name)} is not a valid list name`, 'use letters, digits, ".", "-" and "_", starting with a letter or digit');
  }
  if (name.length > MAX_LIST_LENGTH) throw inputError(`${where}: list name is longer than ${MAX_LIST_LENGTH} characters`);
  return name;
}

// True for a name a jail may have (validateJailName's rule, without the error).
export function isJailName(name: string): boolean {
  return JAIL_PATTERN.test(name) && name.length <= MAX_JAIL_LENGTH;
}

// The chain that holds a jail's rules.
export function chainName(jail: string): string {
  return `${CHAIN_PREFIX}${jail}`;
}
