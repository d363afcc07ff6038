// GetoptScan: getopt(3) for proxyd's two command lines (proxyd's own and
// master(8)'s multi_server one), with the error texts proxyd has always
// printed. getopt keeps its position in libc globals: scan one command line
// at a time, at start-up, on one thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace proxyd::daemon {

class GetoptScan {
 public:
  // letters: a getopt(3) option string starting with "+:" (stop at the
  // first non-option; report a missing argument as ':').
  GetoptScan(int argc, char** argv, std::string letters);
  GetoptScan(const GetoptScan&) = delete;
  GetoptScan& operator=(const GetoptScan&) = delete;

  // The next option letter (its argument in optarg), -1 at the end of the
  // options, or '?' with error set ("invalid option -- 'x'" or "option -x
  // requires an argument").
  int next(std::string& error);

  // Index in argv of the first argument after the options.
  int index() const;

 private:
  int argc_;
  char** argv_;
  std::string letters_;
};

// Append "name=value" (a -o argument) to overrides; false when there is no
// '=' or no name.
bool add_override(std::string_view arg,
                  std::vector<std::pair<std::string, std::string>>& overrides);

}  // namespace proxyd::daemon
