// Helpers for running several lookups in one database round trip: which
// statement texts are safe to batch. Kept apart from the drivers so that
// the rule is unit-tested on its own.
#pragma once

#include <string_view>

namespace proxyd::dict {

// True when sql cannot be more than one statement, whatever the server's
// multi-statement setting: it contains no ';' (the only statement
// separator) and no NUL byte.
bool single_statement_text(std::string_view sql);

// True when sql can only be a single SELECT statement: it starts with the
// keyword SELECT and contains no ';' (the only statement separator a server
// in multi-statement mode splits on) and no NUL byte. A SELECT yields
// exactly one result set (or, with INTO, none; batch readers must check).
bool single_select_statement(std::string_view sql);

}  // namespace proxyd::dict
