// A program with one deliberate bug per mode, built only in sanitizer builds
// (scripts/sanitize.sh): test_canary.py runs it to show that each kind of
// report fails a run (exit status 23 and the harness's output check).
// Modes: leak, overflow, undefined, race.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

namespace {

int leak() {
  auto* lost = new std::string(100, 'x');
  std::printf("%zu\n", lost->size());
  lost = nullptr;  // the only pointer is gone
  return 0;
}

int overflow(int argc) {
  auto buf = std::make_unique<char[]>(8);
  std::memset(buf.get(), 'a', 8);
  return buf[static_cast<std::size_t>(argc) + 6];  // argc is 2: reads buf[8]
}

int undefined(int argc) {
  int big = 2147483647 - 1 + argc / 2;  // INT_MAX when argc is 2
  return big + argc;                    // signed overflow
}

int race() {
  int shared = 0;
  std::thread a([&shared] {
    for (int i = 0; i < 1000; ++i) ++shared;
  });
  std::thread b([&shared] {
    for (int i = 0; i < 1000; ++i) ++shared;
  });
  a.join();
  b.join();
  return shared > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "leak") return leak();
  if (mode == "overflow") return overflow(argc);
  if (mode == "undefined") return undefined(argc) == 0 ? 1 : 0;
  if (mode == "race") return race();
  std::fprintf(stderr, "usage: canary leak|overflow|undefined|race\n");
  return 2;
}
