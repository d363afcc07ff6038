#!/usr/bin/env bash
# Install dependencies, build, and run the demo: proxyd serving the
# workaround.org virtual-mailbox tables from SQLite in a scratch directory,
# answering real Postfix lookups (postmap -q ... proxy:sqlite:...) next to
# the same lookups made directly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh >/dev/null

demo=$(mktemp -d /tmp/proxyd-demo.XXXXXX)
chmod 755 "$demo"   # proxyd serves as mail_owner (postfix) and must read the tables
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$demo"
}
trap cleanup EXIT

mkdir -p "$demo/etc" "$demo/queue"
sqlite3 "$demo/mailserver.db" < tests/data/demo/schema.sql
maps=""
for t in virtual-mailbox-domains virtual-mailbox-maps virtual-alias-maps email2email; do
  sed "s|@DBPATH@|$demo/mailserver.db|" "tests/data/demo/$t.cf" > "$demo/etc/$t.cf"
  maps="$maps proxy:sqlite:$demo/etc/$t.cf"
done
cat > "$demo/etc/main.cf" <<CF
queue_directory = $demo/queue
compatibility_level = 3.6
virtual_mailbox_domains = proxy:sqlite:$demo/etc/virtual-mailbox-domains.cf
virtual_mailbox_maps = proxy:sqlite:$demo/etc/virtual-mailbox-maps.cf
virtual_alias_maps = proxy:sqlite:$demo/etc/virtual-alias-maps.cf, proxy:sqlite:$demo/etc/email2email.cf
CF

./build/proxyd/proxyd -c "$demo/etc" -f 2> "$demo/proxyd.log" &
pid=$!
for _ in $(seq 100); do [ -S "$demo/queue/private/proxymap" ] && break; sleep 0.05; done

echo "proxyd running as pid $pid on $demo/queue/private/proxymap"
echo "default proxy_read_maps picks up the virtual_* tables from main.cf"
echo
printf '%-28s %-26s %-34s %s\n' TABLE KEY "THROUGH proxyd (proxy:)" "DIRECT (postmap)"
lookup() {
  local table=$1 key=$2 via direct
  via=$(postmap -c "$demo/etc" -q "$key" "proxy:sqlite:$demo/etc/$table.cf" 2>&1 | tr '\n' ' ') || via="(not found)"
  direct=$(postmap -c "$demo/etc" -q "$key" "sqlite:$demo/etc/$table.cf" 2>&1 | tr '\n' ' ') || direct="(not found)"
  printf '%-28s %-26s %-34s %s\n' "$table" "$key" "${via:-(not found)}" "${direct:-(not found)}"
  [ "$via" = "$direct" ] || { echo "MISMATCH" >&2; exit 1; }
}
lookup virtual-mailbox-domains example.org
lookup virtual-mailbox-domains example.com
lookup virtual-mailbox-maps John@Example.org
lookup virtual-mailbox-maps nobody@example.org
lookup virtual-alias-maps jack@example.org
lookup virtual-alias-maps team@example.org
lookup virtual-alias-maps @example.org
lookup email2email john@example.org
echo
echo "proxyd log:"
sed 's/^/  /' "$demo/proxyd.log"
