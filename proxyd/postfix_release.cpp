// Learning the installed Postfix release (see postfix_release.h).
#include "proxyd/postfix_release.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "dictcore/util/files.h"

namespace proxyd::daemon {
namespace {

// Run argv with stdin and stderr on /dev/null and an empty environment;
// its standard output (at most 4 KiB), or nullopt if it did not exit 0.
std::optional<std::string> run_for_output(const std::vector<std::string>& argv) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return std::nullopt;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char* no_env[] = {nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), no_env);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  std::string out;
  // A read error or more than 4 KiB is not a version number.
  const bool read_ok =
      rc == 0 && dict::read_all(pipe_fds[0], out, 4096) == dict::ReadAll::Ok;
  ::close(pipe_fds[0]);
  if (rc != 0) return std::nullopt;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!read_ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  return out;
}

}  // namespace

std::optional<dict::PostfixVersion> installed_postfix_version(
    const dict::MainCf& cf, const std::filesystem::path& config_dir) {
  std::string dir = cf.get("command_directory");
  if (dir.empty()) dir = "/usr/sbin";
  std::string postconf = fmt::format("{}/postconf", dir);
  if (access(postconf.c_str(), X_OK) != 0) return std::nullopt;
  auto out = run_for_output({postconf, "-c", config_dir.string(), "-dh", "mail_version"});
  if (!out) return std::nullopt;
  std::string_view text = *out;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  return dict::PostfixVersion::parse(text);
}

dict::PostfixVersion resolve_postfix_version(const std::string& setting,
                                             const dict::MainCf& cf,
                                             const std::filesystem::path& config_dir,
                                             dict::Logger& log) {
  const dict::PostfixVersion newest = dict::PostfixVersion::newest();
  if (setting != "auto") {
    dict::PostfixVersion v = dict::PostfixVersion::parse(setting).value_or(newest);
    log.info("table semantics of Postfix {} (proxyd.cf: postfix_version = {})",
             std::min(v, newest).text(), setting);
    return std::min(v, newest);
  }
  if (auto installed = installed_postfix_version(cf, config_dir)) {
    log.info("table semantics of Postfix {}, the installed release",
             std::min(*installed, newest).text());
    return std::min(*installed, newest);
  }
  log.info(
      "no installed Postfix answered \"postconf -dh mail_version\": table semantics of "
      "Postfix {}",
      newest.text());
  return newest;
}

dict::PostfixVersion follow_postfix_release(const std::string& setting, dict::MainCf& cf,
                                            const std::filesystem::path& config_dir,
                                            dict::Logger& log) {
  const dict::PostfixVersion release =
      resolve_postfix_version(setting, cf, config_dir, log);
  cf.follow_release(release);
  dict::log_null_byte_warnings(cf.null_byte_warnings(), release, log);
  return release;
}

}  // namespace proxyd::daemon
