// Wire vocabulary shared by every layer: proxymap status codes and the
// dictionary flag bits carried in requests and replies (Postfix dict.h,
// dict_proxy.h). Pure data; usable from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace proxyd::protocol {

// Reply status of one proxymap request (PROXY_STAT_*).
enum class ProxyStatus : uint32_t {
  Ok = 0,      // PROXY_STAT_OK: success, value present
  NoKey = 1,   // PROXY_STAT_NOKEY: not found / end of sequence
  Retry = 2,   // PROXY_STAT_RETRY: temporary error, Postfix defers
  Bad = 3,     // PROXY_STAT_BAD: malformed or unknown request
  Deny = 4,    // PROXY_STAT_DENY: table not allowlisted / write refused
  Config = 5,  // PROXY_STAT_CONFIG: configuration error
};

// Lower-case name of a status ("ok", "nokey", ...), for logs and stats.
std::string_view status_name(ProxyStatus status);

// Dictionary flag bits (DICT_FLAG_*), as they travel on the wire.
namespace flags {
// clang-format off
inline constexpr uint32_t kDupWarn = 0x1;          // DICT_FLAG_DUP_WARN
inline constexpr uint32_t kDupIgnore = 0x2;        // DICT_FLAG_DUP_IGNORE
inline constexpr uint32_t kTry0Null = 0x4;         // DICT_FLAG_TRY0NULL
inline constexpr uint32_t kTry1Null = 0x8;         // DICT_FLAG_TRY1NULL
inline constexpr uint32_t kFixed = 0x10;           // DICT_FLAG_FIXED
inline constexpr uint32_t kPattern = 0x20;         // DICT_FLAG_PATTERN
inline constexpr uint32_t kLock = 0x40;            // DICT_FLAG_LOCK
inline constexpr uint32_t kDupReplace = 0x80;      // DICT_FLAG_DUP_REPLACE
inline constexpr uint32_t kSyncUpdate = 0x100;     // DICT_FLAG_SYNC_UPDATE
inline constexpr uint32_t kDebug = 0x200;          // DICT_FLAG_DEBUG (3.7)
inline constexpr uint32_t kNoRegsub = 0x800;       // DICT_FLAG_NO_REGSUB
inline constexpr uint32_t kNoProxy = 0x1000;       // DICT_FLAG_NO_PROXY
inline constexpr uint32_t kNoUnauth = 0x2000;      // DICT_FLAG_NO_UNAUTH
inline constexpr uint32_t kFoldFix = 0x4000;       // DICT_FLAG_FOLD_FIX
inline constexpr uint32_t kFoldMul = 0x8000;       // DICT_FLAG_FOLD_MUL
inline constexpr uint32_t kOpenLock = 0x10000;     // DICT_FLAG_OPEN_LOCK
inline constexpr uint32_t kBulkUpdate = 0x20000;   // DICT_FLAG_BULK_UPDATE
inline constexpr uint32_t kMultiWriter = 0x40000;  // DICT_FLAG_MULTI_WRITER
inline constexpr uint32_t kUtf8Request = 0x80000;  // DICT_FLAG_UTF8_REQUEST
inline constexpr uint32_t kUtf8Active = 0x100000;  // DICT_FLAG_UTF8_ACTIVE
inline constexpr uint32_t kSrcRhsIsFile = 0x200000;  // DICT_FLAG_SRC_RHS_IS_FILE
inline constexpr uint32_t kSurrogate = 0x400000;     // DICT_FLAG_SURROGATE (3.11+)

// 3.7 masks: implementation bits, per-request bits, instance bits.
inline constexpr uint32_t kImplMask = kFixed | kPattern | kMultiWriter;
inline constexpr uint32_t kRqstMask = kFoldFix | kFoldMul | kLock | kDupReplace |
                                      kDupWarn | kDupIgnore | kSyncUpdate |
                                      kNoRegsub | kNoProxy | kNoUnauth |
                                      kUtf8Request;
inline constexpr uint32_t kInstMask = ~(kImplMask | kRqstMask);
// clang-format on
}  // namespace flags

// Symbolic form of a flag word, e.g. "fold_fix|utf8_request" (unknown bits in
// hex, "" for 0), using the names of Postfix's dict_flags_str().
std::string flags_to_string(uint32_t value);

}  // namespace proxyd::protocol
