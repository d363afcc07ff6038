// Bounded whole-file reads and the fd RAII type (see files.h).
#include "dictcore/util/files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "dictcore/util/config_error.h"

namespace proxyd::dict {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() { return std::exchange(fd_, -1); }

UniqueFd open_read_only(const std::string& path, int extra_flags) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | extra_flags));
}

ReadAll read_all(int fd, std::string& out, std::size_t cap) {
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ReadAll::Error;
    }
    if (n == 0) return ReadAll::Ok;
    if (out.size() + static_cast<std::size_t>(n) > cap) return ReadAll::TooLarge;
    out.append(chunk, static_cast<std::size_t>(n));
  }
}

std::string read_file(const std::string& path, std::size_t cap) {
  UniqueFd fd = open_read_only(path);
  if (!fd.valid()) {
    throw ConfigUnavailable(fmt::format("open {}: {}", path, std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) {
    throw ConfigUnavailable(fmt::format("fstat {}: {}", path, std::strerror(errno)));
  }
  if (S_ISDIR(st.st_mode)) {
    throw ConfigUnavailable(fmt::format("read {}: {}", path, std::strerror(EISDIR)));
  }
  std::string data;
  switch (read_all(fd.get(), data, cap)) {
    case ReadAll::Ok:
      return data;
    case ReadAll::Error:
      throw ConfigUnavailable(fmt::format("read {}: {}", path, std::strerror(errno)));
    case ReadAll::TooLarge:
      break;
  }
  throw ConfigError(fmt::format("read {}: file is larger than {} bytes", path, cap));
}

}  // namespace proxyd::dict
