#!/usr/bin/env python3
"""The layering test: every #include in protocol/, dictcore/** and proxyd/
must point down (or sideways within one layer), never up.

    protocol  <-  dictcore/util  <-  dictcore/config  <-  dictcore/tables
      <-  dictcore/pool  <-  dictcore/pool/drivers  <-  dictcore/sql
      <-  dictcore/front  <-  proxyd

A file may include headers of its own layer and of any layer to its left.
A quoted include that names none of our folders, or a dictcore/ path that is
in no layer, fails too, so a new folder must be given its place here.

Third-party headers (#include <...>) are checked as well: a client library's
headers only in its one driver file, libevent only in proxyd/, ICU only in
dictcore/util/fold.cpp, GoogleTest nowhere here (see THIRD_PARTY). The C++
and C system headers and fmt may be included anywhere.

There is no link-time edge against the direction either: pool/ never names
a driver; the driver factories (dictcore/pool/drivers/driver_factory.h) are
handed to PoolSet::pool_for by the layers above. Since pool/ cannot include
that header, a call from pool/ into pool/drivers does not compile.

Usage: layering.py [SOURCE_ROOT [STAMP]] | --self-test. Exits 1 and names
every wrong include; writes STAMP (for the build-time check in
dictcore/meson.build) when all is well. --self-test checks the checker on a
planted tree.
"""
import pathlib
import re
import sys
import tempfile

# Longest prefix first: dictcore/pool/drivers/ before dictcore/pool/.
LAYERS = [
    ("protocol/", 0),
    ("dictcore/util/", 1),
    ("dictcore/config/", 2),
    ("dictcore/tables/", 3),
    ("dictcore/pool/drivers/", 5),
    ("dictcore/pool/", 4),
    ("dictcore/sql/", 6),
    ("dictcore/front/", 7),
    ("proxyd/", 8),
]
NAMES = {rank: prefix.rstrip("/") for prefix, rank in LAYERS}

# (library, header names or folder prefixes ending in "/", where they may
# be included: files, or folders ending in "/").
THIRD_PARTY = [
    ("MySQL Connector/C++",
     ("cppconn/", "mysql_connection.h", "mysql_driver.h", "mysql_error.h"),
     ("dictcore/pool/drivers/session_mysql.cpp",)),
    ("MariaDB Connector/C",
     ("mysql.h", "mysql/", "mariadb/", "errmsg.h", "mysqld_error.h"),
     ("dictcore/pool/drivers/session_mysql_native.cpp",)),
    ("libpq", ("libpq-fe.h", "libpq/", "postgresql/", "pg_config.h"),
     ("dictcore/pool/drivers/session_pgsql.cpp",)),
    ("SQLite", ("sqlite3.h", "sqlite3ext.h"), ("dictcore/pool/drivers/session_sqlite.cpp",)),
    ("libevent", ("event2/", "event.h", "evhttp.h", "evutil.h"), ("proxyd/",)),
    ("ICU", ("unicode/",), ("dictcore/util/fold.cpp",)),
    ("GoogleTest", ("gtest/", "gmock/"), ()),
]

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
SYSTEM_INCLUDE = re.compile(r'^\s*#\s*include\s*<([^>]+)>')
SOURCES = (".h", ".hpp", ".cpp", ".cc")


def layer_of(path):
    for prefix, rank in LAYERS:
        if path.startswith(prefix):
            return rank
    return None


def names(header, pattern):
    return header.startswith(pattern) if pattern.endswith("/") else header == pattern


def allowed_in(path, places):
    return any(path.startswith(p) if p.endswith("/") else path == p for p in places)


def system_include_error(rel, number, header):
    for library, patterns, places in THIRD_PARTY:
        if any(names(header, p) for p in patterns) and not allowed_in(rel, places):
            where = ", ".join(places) if places else "none of protocol/, dictcore/, proxyd/"
            return (f"{rel}:{number}: #include <{header}>: {library} headers belong "
                    f"only in {where}")
    return None


def quoted_include_error(rel, number, own, target):
    theirs = layer_of(target)
    if theirs is None:
        return (f"{rel}:{number}: #include \"{target}\" names no layer "
                "(write it from the project root)")
    if theirs > own:
        return (f"{rel}:{number}: #include \"{target}\": {NAMES[own]} "
                f"may not include {NAMES[theirs]} (against the direction)")
    return None


def check_file(root, file, errors):
    rel = file.relative_to(root).as_posix()
    own = layer_of(rel)
    if own is None:
        errors.append(f"{rel}: file is in no layer (add its folder to tests/layering.py)")
        return 0
    checked = 0
    lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    for number, line in enumerate(lines, 1):
        if match := INCLUDE.match(line):
            error = quoted_include_error(rel, number, own, match.group(1))
        elif match := SYSTEM_INCLUDE.match(line):
            error = system_include_error(rel, number, match.group(1))
        else:
            continue
        checked += 1
        if error:
            errors.append(error)
    return checked


def check(root):
    errors = []
    checked = 0
    for top in ("protocol", "dictcore", "proxyd"):
        for file in sorted((root / top).rglob("*")):
            if file.suffix in SOURCES and file.is_file():
                checked += check_file(root, file, errors)
    return checked, errors


# The planted tree of --self-test: (path, text, wrong includes it must report).
PLANTED = [
    ("protocol/a.cpp", '#include "protocol/a.h"\n#include <string>\n'
     '#include "dictcore/util/text.h"\n', ["protocol/a.cpp:3:"]),
    ("dictcore/tables/t.cpp", '#include "dictcore/util/text.h"\n#include <mysql.h>\n'
     '#include "dictcore/front/registry.h"\n#include <fmt/format.h>\n',
     ["dictcore/tables/t.cpp:2: #include <mysql.h>: MariaDB",
      "dictcore/tables/t.cpp:3:"]),
    ("dictcore/pool/p.cpp", '#include "dictcore/pool/drivers/driver_factory.h"\n'
     '#include <event2/event.h>\n#include "../front/registry.h"\n',
     ["dictcore/pool/p.cpp:1:", "dictcore/pool/p.cpp:2: #include <event2/event.h>: libevent",
      "dictcore/pool/p.cpp:3:"]),
    ("dictcore/pool/drivers/session_sqlite.cpp", '#include <sqlite3.h>\n'
     '#include <libpq-fe.h>\n#include "dictcore/pool/session.h"\n',
     ["dictcore/pool/drivers/session_sqlite.cpp:2: #include <libpq-fe.h>: libpq"]),
    ("dictcore/util/fold.cpp", '#include <unicode/uchar.h>\n#include <gtest/gtest.h>\n',
     ["dictcore/util/fold.cpp:2: #include <gtest/gtest.h>: GoogleTest"]),
    ("proxyd/main.cpp", '#include <event2/event.h>\n#include "dictcore/front/registry.h"\n'
     '#include <cppconn/statement.h>\n',
     ["proxyd/main.cpp:3: #include <cppconn/statement.h>: MySQL Connector/C++"]),
]


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for path, text, _ in PLANTED:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
        checked, errors = check(root)
    want = [prefix for _, _, prefixes in PLANTED for prefix in prefixes]
    missing = [w for w in want if not any(e.startswith(w) for e in errors)]
    extra = [e for e in errors if not any(e.startswith(w) for w in want)]
    for line in missing:
        print(f"layering self-test: not reported: {line}", file=sys.stderr)
    for line in extra:
        print(f"layering self-test: reported wrongly: {line}", file=sys.stderr)
    total = sum(text.count("#include") for _, text, _ in PLANTED)
    if checked != total:
        print(f"layering self-test: {checked} includes checked, expected {total}",
              file=sys.stderr)
        return 1
    if missing or extra:
        return 1
    print(f"layering self-test: {len(errors)} planted wrong includes reported, no others")
    return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        return self_test()
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                        pathlib.Path(__file__).resolve().parent.parent)
    checked, errors = check(root)
    for error in errors:
        print(error, file=sys.stderr)
    if checked == 0:
        print("layering: no includes found; wrong SOURCE_ROOT?", file=sys.stderr)
        return 1
    print(f"layering: {checked} includes checked, {len(errors)} against the direction")
    if errors:
        return 1
    if len(sys.argv) > 2:
        pathlib.Path(sys.argv[2]).write_text("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
