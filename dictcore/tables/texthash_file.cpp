// The texthash: file reader (see texthash_file.h).
#include "dictcore/tables/texthash_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <system_error>

#include "dictcore/util/config_error.h"
#include "dictcore/util/files.h"

namespace proxyd::dict {
namespace {

// Largest texthash file we read into memory.
constexpr std::size_t kMaxTexthashBytes = std::size_t{256} << 20;
// How often a texthash file that changes while being read is read again.
constexpr int kTexthashReadAttempts = 3;

std::string errno_text(int err) { return std::system_category().message(err); }

}  // namespace

std::string read_texthash_file(const std::string& path) {
  for (int attempt = 1;; ++attempt) {
    UniqueFd file = open_read_only(path, O_NONBLOCK);
    if (!file.valid())
      throw ConfigUnavailable(
          fmt::format("open database {}: {}", path, errno_text(errno)));
    const int fd = file.get();
    struct stat before {};
    if (::fstat(fd, &before) < 0) {
      throw ConfigUnavailable(fmt::format("fstat {}: {}", path, errno_text(errno)));
    }
    if (S_ISFIFO(before.st_mode) || S_ISSOCK(before.st_mode)) {
      throw ConfigUnavailable(fmt::format("open database {}: not a regular file", path));
    }
    std::string content;
    switch (read_all(fd, content, kMaxTexthashBytes)) {
      case ReadAll::Ok:
        break;
      case ReadAll::Error:
        throw ConfigUnavailable(fmt::format("read {}: {}", path, errno_text(errno)));
      case ReadAll::TooLarge:
        throw ConfigError(
            fmt::format("{}: file is larger than {} bytes", path, kMaxTexthashBytes));
    }
    struct stat after {};
    if (::fstat(fd, &after) < 0) {
      throw ConfigUnavailable(fmt::format("fstat {}: {}", path, errno_text(errno)));
    }
    bool changed = before.st_size != after.st_size ||
                   before.st_mtim.tv_sec != after.st_mtim.tv_sec ||
                   before.st_mtim.tv_nsec != after.st_mtim.tv_nsec;
    if (!changed || attempt >= kTexthashReadAttempts) return content;
  }
}

}  // namespace proxyd::dict
