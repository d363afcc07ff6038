// Names for the proxymap wire vocabulary: status codes (PROXY_STAT_*) and the
// symbolic form of dictionary flag words, reproducing the "name|name|0xNN"
// layout of Postfix's dict_flags_str() (3.11 names, plus 3.7's "debug" and
// the 3.11+ "surrogate" bit so logs never show a known bit as hex).
// Pure functions; usable from any thread.
#include "protocol/status.h"

#include <fmt/format.h>

#include <array>

namespace proxyd::protocol {

namespace {

struct FlagName {
  uint32_t bit;
  std::string_view name;
};

// Same order and spelling as Postfix's dict_mask table (util/dict.c).
constexpr std::array<FlagName, 22> kFlagNames{{
    {flags::kDupWarn, "warn_dup"},
    {flags::kDupIgnore, "ignore_dup"},
    {flags::kTry0Null, "try0null"},
    {flags::kTry1Null, "try1null"},
    {flags::kFixed, "fixed"},
    {flags::kPattern, "pattern"},
    {flags::kLock, "lock"},
    {flags::kDupReplace, "dup_replace"},
    {flags::kSyncUpdate, "sync_update"},
    {flags::kDebug, "debug"},
    {flags::kNoRegsub, "no_regsub"},
    {flags::kNoProxy, "no_proxy"},
    {flags::kNoUnauth, "no_unauth"},
    {flags::kFoldFix, "fold_fix"},
    {flags::kFoldMul, "fold_mul"},
    {flags::kOpenLock, "open_lock"},
    {flags::kBulkUpdate, "bulk_update"},
    {flags::kMultiWriter, "multi_writer"},
    {flags::kUtf8Request, "utf8_request"},
    {flags::kUtf8Active, "utf8_active"},
    {flags::kSrcRhsIsFile, "src_rhs_is_file"},
    {flags::kSurrogate, "surrogate"},
}};

}  // namespace

std::string_view status_name(ProxyStatus status) {
  switch (status) {
    case ProxyStatus::Ok:
      return "ok";
    case ProxyStatus::NoKey:
      return "nokey";
    case ProxyStatus::Retry:
      return "retry";
    case ProxyStatus::Bad:
      return "bad";
    case ProxyStatus::Deny:
      return "deny";
    case ProxyStatus::Config:
      return "config";
  }
  return "unknown";
}

std::string flags_to_string(uint32_t value) {
  std::string out;
  for (const auto& entry : kFlagNames) {
    if ((value & entry.bit) != 0) {
      if (!out.empty()) out += '|';
      out += entry.name;
      value &= ~entry.bit;
    }
  }
  if (value != 0) {
    if (!out.empty()) out += '|';
    out += fmt::format("0x{:x}", value);
  }
  return out;
}

}  // namespace proxyd::protocol
