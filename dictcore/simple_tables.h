// In-memory tables that need no server: static:, inline:{...} and
// texthash:/file, with the lookup semantics of Postfix's dict_static,
// dict_inline and dict_thash over dict_ht (as postmap -q answers them
// directly). Built on the loop thread at open; answers complete inline.
#pragma once

#include <string_view>

#include "dictcore/table.h"

namespace proxyd::dict {

// Key rule (so that proxied answers equal direct ones): entries are stored
// under their ASCII-lowercased key, as a direct open with FOLD_FIX does; a
// lookup folds its key only when the request carries FOLD_FIX. A v1 client
// with smtputf8 on has already case-folded the key and sends no FOLD_FIX; one
// with smtputf8 off sends FOLD_FIX and the raw key. Both then match. Clients
// that open without FOLD_FIX at all (postmap -f) cannot be told apart from
// the first kind and also see folded keys.
//
// texthash duplicates: requests with DUP_WARN or DUP_IGNORE get the first
// value, DUP_REPLACE the last; requests without any DUP_* flag (daemons) get
// RETRY for every key, as Postfix replaces such a table with a surrogate.
// Empty values (inline: "k=", static:{}) answer CONFIG: Postfix returns ""
// and its maps layer reports a configuration error.

// Build-time choices Postfix derives from the process configuration.
struct SimpleTableOptions {
  // smtputf8_enable: reject non-UTF-8 inline: text, skip non-UTF-8 texthash lines.
  bool utf8 = true;
};

// The options implied by env: smtputf8_enable from main.cf (on without one).
SimpleTableOptions simple_table_options(const TableEnv& env);

// static:value (name = text after "static:", optionally in { }) — every key
// maps to value. Throws ConfigError on bad brace syntax.
TablePtr make_static_table(std::string_view name, const TableEnv& env);

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
