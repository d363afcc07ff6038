// walk_options (see options.h).
#include "tests/bench/options.h"

#include <stdexcept>

namespace proxyd::bench {

void walk_options(int argc, char** argv,
                  const std::function<bool(const std::string&, const std::string&)>& set,
                  const std::function<void(const std::string&)>& usage) {
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (i + 1 >= argc) usage("missing value for " + name);
    const std::string value = argv[++i];
    bool known = false;
    try {
      known = set(name, value);
    } catch (const std::logic_error&) {
      usage("bad value for " + name);
    }
    if (!known) usage("unknown option " + name);
  }
}

}  // namespace proxyd::bench
