// In-memory tables that need no server: static:, inline:{...} and
// texthash:/file, with the lookup semantics of Postfix's dict_static,
// dict_inline and dict_thash over dict_ht (as postmap -q answers them
// directly). Built on the loop thread at open; answers complete inline.
#pragma once

#include <cstdint>
#include <string_view>

#include "dictcore/tables/table.h"
#include "dictcore/util/postfix_version.h"
#include "protocol/status.h"

namespace proxyd::dict {

// Instances: like Postfix's proxymap, each table is opened once per set of
// instance flags (SimpleTableOptions::instance_flags, the flags the client
// opened the table with). With FOLD_FIX among them, keys are stored
// case-folded, as a direct open with FOLD_FIX stores them: casefold() with
// Unicode rules when the UTF-8 layer is active (smtputf8_enable and
// UTF8_REQUEST) and the release is older than 3.11, ASCII lowercase
// otherwise (3.11 builds them on dict_ht without that layer, so there a
// "Straße" entry is not found by any key the client folds); without
// FOLD_FIX they are stored as written (postmap -f). A lookup folds its key
// with the UTF-8 layer's rules only when the request carries FOLD_FIX (a
// client without a UTF-8 layer); a client with one has already folded it.
// With SRC_RHS_IS_FILE (postmap -F) each value names files and becomes the
// base64 encoding of their contents.
//
// texthash duplicates: requests with DUP_WARN or DUP_IGNORE get the first
// value, DUP_REPLACE the last; requests without any DUP_* flag (daemons) get
// RETRY for every key, as Postfix replaces such a table with a surrogate.
// Empty values (inline: "k=", static:{}) answer CONFIG: Postfix returns ""
// and its maps layer reports a configuration error.

// Build-time choices Postfix derives from the process configuration and the
// instance flags.
struct SimpleTableOptions {
  // smtputf8_enable (util_utf8_enable).
  bool utf8 = true;
  // The flags the instance is opened with (FOLD_FIX, UTF8_REQUEST,
  // SRC_RHS_IS_FILE matter); the default is what Postfix daemons use.
  uint32_t instance_flags = kDaemonInstanceFlags;
  // Whose semantics: from 3.11 inline:/texthash: store keys without the
  // UTF-8 layer (ASCII-only folding, no non-UTF-8 line check), and from 3.9
  // texthash warns about NUL bytes (see postfix_version.h).
  PostfixVersion release = PostfixVersion::newest();

  // Postfix's UTF-8 layer is active for this instance: reject non-UTF-8
  // inline: text, skip non-UTF-8 texthash lines, fold with Unicode rules.
  bool utf8_active() const {
    return utf8 && (instance_flags & protocol::flags::kUtf8Request) != 0;
  }

  // The UTF-8 layer also applies to the keys the table is built from:
  // stored keys are checked and folded with Unicode rules (before 3.11).
  bool utf8_stored_keys() const {
    return utf8_active() && !release.hash_tables_store_ascii_folded();
  }
};

// The options implied by env (smtputf8_enable from main.cf, on without one)
// for an instance opened with instance_flags.
SimpleTableOptions simple_table_options(const TableEnv& env, uint32_t instance_flags);

// static:value (name = text after "static:", optionally in { }) — every key
// maps to value. Throws ConfigError on bad brace syntax, ConfigUnavailable
// when SRC_RHS_IS_FILE names a file that cannot be read.
TablePtr make_static_table(std::string_view name, const TableEnv& env,
                           SimpleTableOptions options = {});

// inline:{ key=value, { key = text with , } } (name = text after "inline:").
// Throws ConfigError with Postfix's message on malformed text.
TablePtr make_inline_table(std::string_view name, const TableEnv& env);
// Same, with explicit options (tests).
TablePtr make_inline_table(std::string_view name, const TableEnv& env,
                           SimpleTableOptions options);

// texthash:/path — "key whitespace value" lines as postmap reads them.
// Throws ConfigUnavailable when the file cannot be read.
TablePtr make_texthash_table(std::string_view name, const TableEnv& env);
// Same, with explicit options (tests).
TablePtr make_texthash_table(std::string_view name, const TableEnv& env,
                             SimpleTableOptions options);

}  // namespace proxyd::dict
