#!/usr/bin/env bash
# Build a Debian package of proxyd from this source tree with dpkg-deb only
# (no debhelper): meson setup --prefix=/usr, meson install into a staging
# directory, add the systemd unit, /etc/postfix/proxyd.cf (a conffile with
# every setting commented out at its default), the example, the symlink
# master(8) needs, DEBIAN/control with Depends from dpkg-shlibdeps, and
# maintainer scripts.
#
# usage: packaging/build-deb.sh [OUTPUT_DIR]     (default: build-deb/)
# Prints the path of the .deb on its last line.
set -euo pipefail
umask 022

root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$root/build-deb}" && cd "${1:-$root/build-deb}" && pwd)
build=$out/build
stage=$out/stage
jobs=${PROXYD_BUILD_JOBS:-2}

version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$root/meson.build" | head -n1)
[ -n "$version" ] || { echo "build-deb.sh: no version in meson.build" >&2; exit 1; }
debversion="$version-1"
arch=$(dpkg --print-architecture)
maintainer=${PROXYD_MAINTAINER:-proxyd maintainers <proxyd@example.org>}

# 1. Build and install into the staging tree.
if [ -f "$build/build.ninja" ]; then
  meson configure "$build" --prefix=/usr -Dtests=false -Dbuildtype=release >/dev/null
else
  meson setup "$build" "$root" --prefix=/usr -Dtests=false --buildtype=release >/dev/null
fi
meson compile -C "$build" -j "$jobs" >/dev/null
rm -rf "$stage"
meson install -C "$build" --destdir "$stage" --no-rebuild >/dev/null
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/sbin/proxyd"

# 2. What meson does not install.
install -D -m 0644 "$root/packaging/systemd/proxyd.service" \
  "$stage/lib/systemd/system/proxyd.service"
install -D -m 0644 "$root/packaging/proxyd.cf.example" "$stage/etc/postfix/proxyd.cf"
install -D -m 0644 "$root/packaging/proxyd.cf.example" \
  "$stage/usr/share/doc/proxyd/examples/proxyd.cf"
install -D -m 0644 "$root/README.md" "$stage/usr/share/doc/proxyd/README.md"
# Monitoring examples: a Grafana dashboard and Prometheus alert rules.
install -D -m 0644 "$root/packaging/grafana-dashboard.json" \
  "$stage/usr/share/doc/proxyd/examples/grafana-dashboard.json"
install -D -m 0644 "$root/packaging/prometheus-rules.yml" \
  "$stage/usr/share/doc/proxyd/examples/prometheus-rules.yml"
# master(8) runs relative commands from daemon_directory (/usr/lib/postfix/sbin
# on Debian), so master.cf can name "proxyd" on the proxymap line. The binary
# itself lives there and /usr/sbin/proxyd points at it: `postfix check` warns
# about any symlink in daemon_directory whose target has a slash in it.
mkdir -p "$stage/usr/lib/postfix/sbin"
mv "$stage/usr/sbin/proxyd" "$stage/usr/lib/postfix/sbin/proxyd"
ln -sf ../lib/postfix/sbin/proxyd "$stage/usr/sbin/proxyd"
cat > "$stage/usr/share/doc/proxyd/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: proxyd
Source: proxyd source tree

Files: *
Copyright: 2025 the proxyd authors
License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
 SOFTWARE.
EOF
printf 'proxyd (%s) unstable; urgency=medium\n\n  * Package built from the proxyd source tree.\n\n -- %s  %s\n' \
  "$debversion" "$maintainer" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")" |
  gzip -9n > "$stage/usr/share/doc/proxyd/changelog.Debian.gz"
find "$stage/usr/share/man" -type f -name '*.[0-9]' -exec gzip -9nf {} +

# 3. Depends from the libraries the binary links (dpkg-shlibdeps wants a
# debian/control beside it, so give it a minimal one).
shlibs=""
if command -v dpkg-shlibdeps >/dev/null; then
  tmp=$(mktemp -d)
  mkdir "$tmp/debian"
  printf 'Source: proxyd\n\nPackage: proxyd\nArchitecture: any\n' > "$tmp/debian/control"
  shlibs=$(cd "$tmp" && dpkg-shlibdeps -O -e"$stage/usr/lib/postfix/sbin/proxyd" 2>/dev/null |
           sed -n 's/^shlibs:Depends=//p')
  rm -rf "$tmp"
fi
if [ -z "$shlibs" ]; then
  echo "build-deb.sh: warning: dpkg-shlibdeps unavailable; Depends lists only postfix" >&2
fi
depends="postfix (>= 3.6)${shlibs:+, $shlibs}"

# 4. Control files.
mkdir -p "$stage/DEBIAN"
installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<EOF
Package: proxyd
Version: $debversion
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: $depends
Section: mail
Priority: optional
Description: Postfix proxymap(8) replacement with pooled SQL sessions
 proxyd serves Postfix's proxymap and proxywrite sockets from one event
 loop and answers mysql:, pgsql:, sqlite:, static:, inline:, texthash: and
 unix: lookups with Postfix's exact semantics, running SQL on a small,
 bounded pool of sessions per database. It runs under master(8) as the
 command of the proxymap line in master.cf, or standalone with systemd.
EOF
echo /etc/postfix/proxyd.cf > "$stage/DEBIAN/conffiles"
cat > "$stage/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
# The unit is installed but not enabled: an administrator chooses between
# master.cf (proxymap line naming proxyd) and the standalone unit.
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
exit 0
EOF
cat > "$stage/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ] && command -v deb-systemd-invoke >/dev/null; then
  deb-systemd-invoke stop proxyd.service >/dev/null || true
fi
exit 0
EOF
cat > "$stage/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl --system daemon-reload >/dev/null || true
fi
exit 0
EOF
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"
(cd "$stage" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z |
   xargs -0 md5sum) > "$stage/DEBIAN/md5sums"

# 5. The package (files owned by root whoever builds it).
deb="$out/proxyd_${debversion}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
