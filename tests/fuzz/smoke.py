#!/usr/bin/env python3
"""Smoke run of one libFuzzer harness (meson suite 'fuzz'): FUZZ_SECONDS
seconds (default 60) from the checked-in seeds, new inputs kept in a scratch
corpus so the seeds stay as they are. Fails on any crash, sanitizer report,
leak, timeout (10 s per input) or out-of-memory (2 GB); the input that did
it is left in the build dir as ARTIFACT_DIR/<name>-crash-... and printed.
Prints libFuzzer's final figures (executions, corpus, peak RSS).

usage: smoke.py FUZZER SEED_DIR ARTIFACT_DIR"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> int:
    exe, seeds, artifacts = sys.argv[1:4]
    name = Path(exe).name
    seconds = int(os.environ.get("FUZZ_SECONDS", "60"))
    Path(artifacts).mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    # UBSan must stop the run, not just print (clang's -fsanitize=undefined
    # recovers by default).
    env["UBSAN_OPTIONS"] = "halt_on_error=1:abort_on_error=1:print_stacktrace=1"
    env["ASAN_OPTIONS"] = "abort_on_error=1:detect_leaks=1"
    env.setdefault("ASAN_SYMBOLIZER_PATH", "/usr/bin/llvm-symbolizer")
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as corpus:
        log_path = Path(corpus) / "fuzz.log"
        cmd = [exe, f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048",
               "-print_final_stats=1", f"-artifact_prefix={artifacts}/{name}-",
               os.path.join(corpus, "new"), seeds]
        os.mkdir(os.path.join(corpus, "new"))
        print(" ".join(cmd), flush=True)
        # Output to a file and stdin from /dev/null: a harness that opens
        # /dev/stdin or /proc/self/fd/N must not find a pipe to block on.
        with open(log_path, "wb") as log:
            rc = subprocess.call(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, env=env,
                                 timeout=seconds + 120)
        text = log_path.read_text(errors="replace")
        stats = [l for l in text.splitlines() if l.startswith("stat::")
                 or "INFO: seed corpus" in l or l.startswith("Done ")]
        print("\n".join(stats))
        if rc != 0:
            print(f"{name}: libFuzzer exit {rc}; last output:\n{text[-12000:]}")
            return 1
        print(f"{name}: {seconds} s, no crash")
        return 0


if __name__ == "__main__":
    sys.exit(main())
