#!/usr/bin/env python3
"""No function in protocol/, dictcore/ or proxyd/ is longer than 80 lines
(issue 15 item 4), except where the comment just above it says it is long
"on purpose" and why, or it is in KNOWN_LONG below.

The scan is brace-based and deliberately simple: comments, string and
character literals and preprocessor directives are blanked out; then every '{' whose statement head
(the text since the previous ';', '{' or '}') contains ')' and is not inside
another function opens a function body. A function's length runs from the
first line of its head to its closing brace. Usage:

  function_length.py [ROOT]      check the tree (default: the repository)
  function_length.py --self-test check that the scan finds a planted offender
"""
import os
import re
import sys
import tempfile

LIMIT = 80
FOLDERS = ("protocol", "dictcore", "proxyd")
# Functions allowed to stay long without the marker comment: none.
KNOWN_LONG = set()
MARKER = "on purpose"

KEYWORDS = {"if", "for", "while", "switch", "catch", "return", "sizeof", "decltype",
            "alignof", "static_assert", "noexcept", "requires"}


def blank(text):
    """Replace comments and literals with spaces, keeping line breaks."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == 'R' and text.startswith('R"', i):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = ")" + m.group(1) + '"'
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator 1'000
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + " " * (j - i - 2) + c if j - i >= 2 else " " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def blank_directives(code):
    """Blank preprocessor directives (with their continuation lines): an
    X-macro list is data, not a function head."""
    lines = code.split("\n")
    inside = False
    for i, line in enumerate(lines):
        if inside or line.lstrip().startswith("#"):
            inside = line.rstrip().endswith("\\")
            lines[i] = " " * len(line)
    return "\n".join(lines)


def function_name(head):
    """The name before the parameter list, e.g. Foo::bar or operator()."""
    depth = 0
    for m in re.finditer(r"[()]", head):
        if m.group() == "(":
            if depth == 0:
                before = head[:m.start()].rstrip()
                name = re.search(r"([~\w:]+(?:operator\s*\S+?)?)\s*$", before)
                if name and name.group(1).split("::")[-1] not in KEYWORDS:
                    return name.group(1)
            depth += 1
        else:
            depth -= 1
    return "<lambda>" if "[" in head else "?"


def marked(lines, first):
    """True when the comment block just above line index first says MARKER."""
    k = first - 1
    while k >= 0 and lines[k].strip().startswith(("template", "[[")):
        k -= 1
    block = []
    while k >= 0 and lines[k].strip().startswith("//"):
        block.append(lines[k])
        k -= 1
    return MARKER in " ".join(block)


def functions(text):
    """(name, first line, last line) of each outermost function body; 1-based."""
    code = blank_directives(blank(text))
    found = []
    stack = []  # (kind, head start offset)
    head_start = 0
    for i, c in enumerate(code):
        if c in ";{}":
            if c == "{":
                head = code[head_start:i]
                in_function = any(kind == "function" for kind, _ in stack)
                if in_function:
                    kind = "block"
                elif re.search(r"\b(namespace|class|struct|union|enum)\b", head) and ")" not in head:
                    kind = "scope"
                elif ")" in head:
                    kind = "function"
                else:
                    kind = "block"
                start = head_start + (len(head) - len(head.lstrip()))
                stack.append((kind, start))
            elif c == "}" and stack:
                kind, start = stack.pop()
                if kind == "function":
                    first = code.count("\n", 0, start) + 1
                    last = code.count("\n", 0, i) + 1
                    found.append((function_name(code[start:i]), first, last))
            head_start = i + 1
    return found


def offenders(path, text):
    lines = text.splitlines()
    base = os.path.basename(path)
    bad = []
    for name, first, last in functions(text):
        length = last - first + 1
        if length <= LIMIT:
            continue
        if marked(lines, first - 1) or (base, name.split("::")[-1]) in KNOWN_LONG:
            continue
        bad.append(f"{path}:{first}: {name} is {length} lines (limit {LIMIT})")
    return bad


def check_tree(root):
    bad = []
    for folder in FOLDERS:
        for dirpath, _, names in os.walk(os.path.join(root, folder)):
            for name in sorted(names):
                if name.endswith((".cpp", ".h")):
                    path = os.path.join(dirpath, name)
                    with open(path, encoding="utf-8") as f:
                        bad += offenders(os.path.relpath(path, root), f.read())
    return bad


def self_test():
    body = "".join(f"  x += {i};\n" for i in range(LIMIT))
    long_fn = "int too_long(int x) {\n" + body + "  return x;\n}\n"
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "proxyd"))
        path = os.path.join(tmp, "proxyd", "planted.cpp")
        cases = [
            ("namespace a {\n" + long_fn + "}\n", 1),
            ("// Long on purpose: a table of data.\n" + long_fn, 0),
            ("struct S {\n  " + long_fn.replace("\n", "\n  ") + "};\n", 1),
            ("int short_one() { return '}'; }\nconst char* s = \"{{{\";\n", 0),
        ]
        for text, want in cases:
            with open(path, "w") as f:
                f.write(text)
            got = len(check_tree(tmp))
            if got != want:
                print(f"self-test: expected {want} offender(s), found {got} in:\n{text[:200]}")
                ok = False
    return ok


def main():
    if sys.argv[1:] == ["--self-test"]:
        ok = self_test()
        print("self-test:", "ok" if ok else "FAILED")
        return 0 if ok else 1
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))
    bad = check_tree(root)
    for line in bad:
        print(line)
    print(f"{len(bad)} function(s) over {LIMIT} lines")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
