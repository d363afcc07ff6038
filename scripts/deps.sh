#!/usr/bin/env bash
# Install everything proxyd needs to build, demo and test on Debian 12,
# from Debian's packages only. Safe to run repeatedly. Needs root.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "scripts/deps.sh: run as root (apt-get needs it)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# postfix must install without asking and without a configuration of its own.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# slapd must install without asking and without a directory of its own: the
# forwarding tests start a private slapd from a temp dir (no system instance).
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections

packages=(
  meson ninja-build pkg-config g++ python3
  libevent-dev libmysqlcppconn-dev libpq-dev libfmt-dev libsqlite3-dev libgtest-dev
  libicu-dev
  # MariaDB Connector/C headers (libmariadb.so.3 is already what Connector/C++
  # links): its non-blocking API lets the event loop run a mysql lookup
  # itself (the loop session, issue 16).
  libmariadb-dev
  sqlite3 postfix postfix-sqlite postfix-mysql postfix-pgsql
)
if [ "${1:-}" = "--all" ]; then
  # Database servers for the integration tests against real MariaDB/PostgreSQL.
  packages+=(mariadb-server mariadb-client postgresql postgresql-client)
  # Table types Postfix's own proxymap serves behind proxyd in the
  # forwarding tests (tests/integration/test_forwarding.py, issue 12).
  packages+=(postfix-lmdb postfix-pcre postfix-cdb)
  # ldap and memcache in the forwarding matrix
  # (tests/integration/test_forwarding_types.py, issue 12 item 1): Postfix's
  # ldap client, a private slapd (ldapadd/slapadd to load it) and a private
  # memcached, each started by the test in a temp dir.
  packages+=(postfix-ldap slapd ldap-utils memcached)
  # The packaging test: dpkg-shlibdeps (dpkg-dev), strip (binutils), man -w
  # (man-db), and lintian, which must find no errors in the .deb.
  packages+=(dpkg-dev binutils man-db lintian)
  # The sanitizer and fuzz parts of scripts/test.sh: clang for TSan and
  # libFuzzer (its runtimes are in libclang-rt-14-dev), llvm-symbolizer for
  # readable sanitizer stacks.
  packages+=(clang libclang-rt-14-dev llvm)
  # The format test (tests/format_check.py) runs clang-format.
  packages+=(clang-format)
  # The metrics test (tests/integration/test_metrics.py): promtool and a real
  # Prometheus server scraping proxyd on loopback (issue 17).
  packages+=(prometheus)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  # Never start services from package scripts: tests run their own instances.
  own_policy=no
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=yes
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$own_policy" = yes ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
echo "scripts/deps.sh: all packages present"
