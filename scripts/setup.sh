#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine for xtban's tests; safe to run again (it only does what is missing).
# As root: installs iptables, iproute2 and the test layers' packages, installs npm packages when needed, builds dist/.
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
  [systemd-nspawn]=systemd-container
  [nginx]=nginx [apache2]=apache2 [postfix]=postfix [dovecot]=dovecot-imapd [doveadm]=dovecot-imapd
  [vsftpd]=vsftpd [mariadbd]=mariadb-server [mariadb]=mariadb-client [curl]=curl
  [ipset]=ipset
  [qemu-system-x86_64]=qemu-system-x86 [cpio]=cpio [depmod]=kmod
  [nats-server]=nats-server
)
missing_commands=()
missing_packages=()
# The daemons whose logs the built-in filters read (nginx, apache2, postfix, dovecot, vsftpd, mariadb) and
# their clients (curl speaks HTTP, SMTP, IMAP, POP3 and FTP): the filter tests run the real servers.
# ipset: the packet-path benchmark compares a jail with an ipset set of the same size.
# qemu, cpio and kmod (depmod), with busybox-static below: the stock-kernel test and benchmark boot Debian's
# own kernel in a VM, where xt_recent is a module (on this machine's kernel it may be built in).
# nats-server: the fleet tests and benchmark run real JetStream servers (and a cluster) on loopback.
for command in iptables ip6tables iptables-legacy iptables-nft nft ip systemd-analyze fail2ban-server sshd ssh systemd-nspawn \
  nginx apache2 postfix dovecot doveadm vsftpd mariadbd mariadb curl ipset qemu-system-x86_64 cpio depmod nats-server; do
  if ! command -v "$command" >/dev/null; then
    missing_commands+=("$command")
    package=${package_of[$command]}
    [[ " ${missing_packages[*]} " == *" $package "* ]] || missing_packages+=("$package")
  fi
done
# Packages that put no command on the PATH: fail2ban reads the journal through python3-systemd (Debian
# recommends it; its sshd jail needs it on Debian 12, which logs sshd only to the journal); the dovecot
# tests serve POP3 as well as IMAP (dovecot-pop3d is /usr/lib/dovecot/pop3); the stock-kernel VM's initramfs
# needs a static busybox (the busybox package's is not).
for package in python3-systemd dovecot-pop3d busybox-static; do
  if ! dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'ok installed'; then
    missing_commands+=("$package")
    missing_packages+=("$package")
  fi
done

if ((${#missing_packages[@]} > 0)); then
  why="needed by the xtban CLI, its daemon (nft reports ruleset changes) and its tests (kernel, units, fail2ban and sshd end to end, systemd containers, the filters against the real nginx, apache2, postfix, dovecot, vsftpd and mariadb; ipset for the benchmarks; qemu, cpio, kmod and busybox-static to boot Debian's stock kernel in a VM; nats-server for the fleet): ${missing_commands[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    say "installing ${missing_packages[*]} ($why)"
    # Packages of servers (ssh, fail2ban) start their service on install: not on this machine. The tests
    # start what they need inside their own namespaces and containers.
    quiet_policy=
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\n# xtban setup: no service starts while packages install\nexit 101\n' > /usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      quiet_policy=yes
    fi
    # postfix asks how to configure itself: not at all (the tests write their own main.cf).
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_packages[@]}" >&2
    [[ -z $quiet_policy ]] || rm -f /usr/sbin/policy-rc.d
  else
    say "missing ${missing_commands[*]} ($why)"
    say "install them with: sudo apt-get install -y --no-install-recommends ${missing_packages[*]}  (or: sudo bash scripts/setup.sh)"
    say "continuing: the unit tests run without them, the kernel tests will be skipped and say why"
  fi
fi

# Debian's stock kernel for the stock-kernel VM, unpacked into a directory of its own (not installed: nothing
# boots it but that VM). It is the kernel linux-image-amd64 names today.
stock_kernel_dir=${XTBAN_STOCK_KERNEL_DIR:-/var/cache/xtban-test/stock-kernel}
if [[ $(id -u) -eq 0 && $(uname -m) == x86_64 && ! -f $stock_kernel_dir/.ready ]]; then
  image_of() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1; }
  image=$(image_of)
  [[ -n $image ]] || { apt-get update -qq; image=$(image_of); }
  say "unpacking Debian's stock kernel ($image) into $stock_kernel_dir (for the stock-kernel VM test; not installed)"
  download=$(mktemp -d)
  chown _apt "$download" 2>/dev/null || true
  (cd "$download" && apt-get download -qq "$image" >&2)
  rm -rf "$stock_kernel_dir"
  mkdir -p "$stock_kernel_dir"
  dpkg -x "$download"/"$image"_*.deb "$stock_kernel_dir"
  rm -rf "$download"
  version=${image#linux-image-}
  depmod -b "$stock_kernel_dir" "$version"
  touch "$stock_kernel_dir/.ready"
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
say "ready: npm run test:unit; as root also npm run test:kernel and npm run test:system"
