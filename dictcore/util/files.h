// Reading whole files with a bound: the fd-owning RAII type, the one read
// loop (EINTR retried, a size cap), and read_file for configuration files.
// Every caller states its cap at the call site.
#pragma once

#include <cstddef>
#include <string>

namespace proxyd::dict {

// Owns one file descriptor; closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();

 private:
  int fd_ = -1;
};

// open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | extra_flags); invalid (errno
// set) on failure.
UniqueFd open_read_only(const std::string& path, int extra_flags = 0);

enum class ReadAll { Ok, Error, TooLarge };

// Append everything fd still has to out. Error (errno set) on a read error;
// TooLarge as soon as out would grow beyond cap bytes.
ReadAll read_all(int fd, std::string& out, std::size_t cap);

// A whole configuration file, at most cap bytes. ConfigUnavailable when it
// cannot be read ("open PATH: reason", a directory included), ConfigError
// "read PATH: file is larger than CAP bytes" beyond cap.
std::string read_file(const std::string& path, std::size_t cap);

}  // namespace proxyd::dict
