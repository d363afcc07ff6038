// Which Postfix release's table semantics to follow: the proxyd.cf setting
// postfix_version, where "auto" asks the installed Postfix once, with
// "postconf -dh mail_version", before any chroot. No Postfix installed (or
// a postconf that does not answer) means the newest semantics proxyd knows.
#pragma once

#include <filesystem>
#include <string>

#include "dictcore/config/main_cf.h"
#include "dictcore/util/logger.h"
#include "dictcore/util/postfix_version.h"

namespace proxyd::daemon {

// The installed Postfix's mail_version, asked of $command_directory/postconf
// with "-c config_dir"; nullopt when there is no postconf or no answer.
std::optional<dict::PostfixVersion> installed_postfix_version(
    const dict::MainCf& cf, const std::filesystem::path& config_dir);

// The semantics for setting ("auto" or a release such as "3.7.11"), logged
// once at info level with where it came from.
dict::PostfixVersion resolve_postfix_version(const std::string& setting,
                                             const dict::MainCf& cf,
                                             const std::filesystem::path& config_dir,
                                             dict::Logger& log);

// resolve_postfix_version, then make cf use that release's defaults where
// releases differ (proxy_read_maps: see dictcore/config/release_defaults.h).
dict::PostfixVersion follow_postfix_release(const std::string& setting, dict::MainCf& cf,
                                            const std::filesystem::path& config_dir,
                                            dict::Logger& log);

}  // namespace proxyd::daemon
