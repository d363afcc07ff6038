// The system's /etc as proxyd saw it at start-up: a directory descriptor
// opened before chroot and kept, through which unix: tables read passwd and
// group from inside a jail, re-read whenever the file there changes
// (useradd replaces it; the descriptor on the directory sees the new one).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

#include "dictcore/util/files.h"

namespace proxyd::dict {

// One file's contents as read, with the identity it was read under.
struct EtcSnapshot {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  long long mtime_ns = 0;
  std::string text;
};

class EtcDir {
 public:
  // Opens dir (a directory). When that fails, valid() is false and every
  // read fails.
  explicit EtcDir(std::string dir = "/etc");
  EtcDir(const EtcDir&) = delete;
  EtcDir& operator=(const EtcDir&) = delete;

  bool valid() const { return fd_.valid(); }
  const std::string& path() const { return dir_; }

  // True when dir/name, as this process resolves the path now, is the very
  // file the kept descriptor reaches: nothing (no chroot) lies in between.
  bool visible(std::string_view name) const;

  // The current contents of name, read through the descriptor; the
  // previous snapshot is returned as is while the file is unchanged (same
  // device, inode, size and mtime). Null with error set on failure.
  std::shared_ptr<const EtcSnapshot> read(
      std::string_view name, const std::shared_ptr<const EtcSnapshot>& previous,
      std::string& error) const;

 private:
  std::string dir_;
  UniqueFd fd_;
};

}  // namespace proxyd::dict
