// EtcDir (see etc_dir.h): openat/fstatat on a directory descriptor kept
// from before chroot. Reads are bounded (kMaxFileBytes).
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
constexpr off_t kMaxFileBytes = off_t{256} << 20;

long long mtime_ns(const struct stat& st) {
  return static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

}  // namespace

EtcDir::EtcDir(std::string dir) : dir_(std::move(dir)) {
  fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

EtcDir::~EtcDir() {
  if (fd_ >= 0) ::close(fd_);
}

bool EtcDir::visible(std::string_view name) const {
  if (fd_ < 0) return true;  // nothing kept: the path is all there is
  std::string file(name);
  struct stat kept {};
  struct stat seen {};
  if (::fstatat(fd_, file.c_str(), &kept, 0) != 0) return true;
  if (::stat(fmt::format("{}/{}", dir_, file).c_str(), &seen) != 0) return false;
  return kept.st_dev == seen.st_dev && kept.st_ino == seen.st_ino;
}

std::shared_ptr<const EtcSnapshot> EtcDir::read(
    std::string_view name, const std::shared_ptr<const EtcSnapshot>& previous,
    std::string& error) const {
  std::string file(name);
  if (fd_ < 0) {
    error = fmt::format("cannot open {}: not opened at start-up", dir_);
    return nullptr;
  }
  int fd = ::openat(fd_, file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    error = fmt::format("open {}/{}: {}", dir_, file, std::strerror(errno));
    return nullptr;
  }
  struct stat st {};
  auto snap = std::make_shared<EtcSnapshot>();
  bool ok = ::fstat(fd, &st) == 0;
  if (ok && previous && previous->dev == st.st_dev && previous->ino == st.st_ino &&
      previous->size == st.st_size && previous->mtime_ns == mtime_ns(st)) {
    ::close(fd);
    return previous;
  }
  if (ok && st.st_size > kMaxFileBytes) {
    ::close(fd);
    error = fmt::format("{}/{}: file too large ({} bytes)", dir_, file, st.st_size);
    return nullptr;
  }
  char buf[65536];
  while (ok) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ok = false;
    if (n <= 0) break;
    snap->text.append(buf, static_cast<std::size_t>(n));
    if (static_cast<off_t>(snap->text.size()) > kMaxFileBytes) ok = false;
  }
  int saved = errno;
  ::close(fd);
  if (!ok) {
    error = fmt::format("read {}/{}: {}", dir_, file, std::strerror(saved));
    return nullptr;
  }
  snap->dev = st.st_dev;
  snap->ino = st.st_ino;
  snap->size = st.st_size;
  snap->mtime_ns = mtime_ns(st);
  return snap;
}

}  // namespace proxyd::dict
