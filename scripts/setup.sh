#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine for xtban's tests; safe to run again (it only does what is missing).
# As root: installs iptables and iproute2, installs npm packages when needed, builds dist/.
# As a normal user: reports what is missing and how to install it, then still prepares the unit layer (exit 0).
set -euo pipefail

cd "$(dirname "$0")/.."
say() { printf 'xtban setup: %s\n' "$*" >&2; }

# Debian keeps iptables in /usr/sbin, which is not on a normal user's PATH.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

if ! command -v node >/dev/null || ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  say "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none)); install it, then run this again"
  exit 1
fi

# command -> Debian package that provides it
declare -A package_of=(
  [iptables]=iptables [ip6tables]=iptables [iptables-legacy]=iptables [iptables-nft]=iptables
  [ip]=iproute2
  [nft]=nftables
  [systemd-analyze]=systemd
  [fail2ban-server]=fail2ban
  [sshd]=openssh-server
  [ssh]=openssh-client
)
missing_commands=()
missing_packages=()
for command in iptables ip6tables iptables-legacy iptables-nft nft ip systemd-analyze fail2ban-server sshd ssh; do
  if ! command -v "$command" >/dev/null; then
    missing_commands+=("$command")
    package=${package_of[$command]}
    [[ " ${missing_packages[*]} " == *" $package "* ]] || missing_packages+=("$package")
  fi
done

if ((${#missing_packages[@]} > 0)); then
  why="needed by the xtban CLI, its daemon (nft reports ruleset changes) and its tests (kernel, units, fail2ban and sshd end to end): ${missing_commands[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    say "installing ${missing_packages[*]} ($why)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" >&2
  else
    say "missing ${missing_commands[*]} ($why)"
    say "install them with: sudo apt-get install -y --no-install-recommends ${missing_packages[*]}  (or: sudo bash scripts/setup.sh)"
    say "continuing: the unit tests run without them, the kernel tests will be skipped and say why"
  fi
fi

# npm writes node_modules/.package-lock.json on every install: older than package-lock.json means stale.
# `npm install --no-save` installs the locked versions and leaves package-lock.json as committed; `npm ci`
# is not used because npm 11 refuses lock files that omit other platforms' optional packages (rollup's).
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing npm packages (node_modules is missing or older than package-lock.json)"
  npm install --no-save --no-audit --no-fund --loglevel=error >&2
fi

say "building dist/ (npm run build)"
npm run build --silent >&2
say "ready: npm run test:unit; as root also npm run test:kernel"
