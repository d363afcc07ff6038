#!/usr/bin/env python3
"""The layering test: every #include "..." in protocol/, dictcore/** and
proxyd/ must point down (or sideways within one layer), never up.

    protocol  <-  dictcore/util  <-  dictcore/config  <-  dictcore/tables
      <-  dictcore/pool  <-  dictcore/pool/drivers  <-  dictcore/sql
      <-  dictcore/front  <-  proxyd

A file may include headers of its own layer and of any layer to its left.
A quoted include that names none of our folders, or a dictcore/ path that is
in no layer, fails too, so a new folder must be given its place here.

Usage: layering.py [SOURCE_ROOT [STAMP]]. Exits 1 and names every wrong
include; writes STAMP (for the build-time check in dictcore/meson.build) when
all is well.
"""
import pathlib
import re
import sys

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
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
SOURCES = (".h", ".hpp", ".cpp", ".cc")


def layer_of(path):
    for prefix, rank in LAYERS:
        if path.startswith(prefix):
            return rank
    return None


def check(root):
    errors = []
    checked = 0
    for top in ("protocol", "dictcore", "proxyd"):
        for file in sorted((root / top).rglob("*")):
            if file.suffix not in SOURCES or not file.is_file():
                continue
            rel = file.relative_to(root).as_posix()
            own = layer_of(rel)
            if own is None:
                errors.append(f"{rel}: file is in no layer (add its folder to tests/layering.py)")
                continue
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
            for number, line in enumerate(lines, 1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                checked += 1
                target = match.group(1)
                theirs = layer_of(target)
                if theirs is None:
                    errors.append(f"{rel}:{number}: #include \"{target}\" names no layer "
                                  "(write it from the project root)")
                elif theirs > own:
                    errors.append(f"{rel}:{number}: #include \"{target}\": {NAMES[own]} "
                                  f"may not include {NAMES[theirs]} (against the direction)")
    return checked, errors


def main():
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
