// EtcDir (see etc_dir.h): openat/fstatat on a directory descriptor kept
// from before chroot. Reads are bounded (kMaxFileBytes) and go through
// read_all, the one file reader (util/files.h).
#include "dictcore/tables/etc_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace proxyd::dict {

namespace {

// Larger passwd/group files are refused (the lookup answers RETRY).
constexpr std::size_t kMaxFileBytes = std::size_t{256} << 20;

long long mtime_ns(const struct stat& st) {
  return static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

}  // namespace

EtcDir::EtcDir(std::string dir)
    : dir_(std::move(dir)),
      fd_(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {}

bool EtcDir::visible(std::string_view name) const {
  if (!fd_.valid()) return true;  // nothing kept: the path is all there is
  std::string file(name);
  struct stat kept {};
  struct stat seen {};
  if (::fstatat(fd_.get(), file.c_str(), &kept, 0) != 0) return true;
  if (::stat(fmt::format("{}/{}", dir_, file).c_str(), &seen) != 0) return false;
  return kept.st_dev == seen.st_dev && kept.st_ino == seen.st_ino;
}

std::shared_ptr<const EtcSnapshot> EtcDir::read(
    std::string_view name, const std::shared_ptr<const EtcSnapshot>& previous,
    std::string& error) const {
  std::string file(name);
  if (!fd_.valid()) {
    error = fmt::format("cannot open {}: not opened at start-up", dir_);
    return nullptr;
  }
  UniqueFd fd(::openat(fd_.get(), file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    error = fmt::format("open {}/{}: {}", dir_, file, std::strerror(errno));
    return nullptr;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    error = fmt::format("stat {}/{}: {}", dir_, file, std::strerror(errno));
    return nullptr;
  }
  if (previous && previous->dev == st.st_dev && previous->ino == st.st_ino &&
      previous->size == st.st_size && previous->mtime_ns == mtime_ns(st)) {
    return previous;
  }
  auto snap = std::make_shared<EtcSnapshot>();
  switch (read_all(fd.get(), snap->text, kMaxFileBytes)) {
    case ReadAll::Ok:
      break;
    case ReadAll::TooLarge:
      error =
          fmt::format("{}/{}: file too large (over {} bytes)", dir_, file, kMaxFileBytes);
      return nullptr;
    case ReadAll::Error:
      error = fmt::format("read {}/{}: {}", dir_, file, std::strerror(errno));
      return nullptr;
  }
  snap->dev = st.st_dev;
  snap->ino = st.st_ino;
  snap->size = st.st_size;
  snap->mtime_ns = mtime_ns(st);
  return snap;
}

}  // namespace proxyd::dict
