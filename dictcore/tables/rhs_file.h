// Values that name files (DICT_FLAG_SRC_RHS_IS_FILE, postmap -F, used by
// tls_server_sni_maps): the right-hand side lists file names, and the value
// becomes the base64 encoding of their contents, as Postfix's dict_file
// builds it for static:, inline: and texthash:. Any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace proxyd::dict {

// Largest total size of the files one value may name.
inline constexpr std::size_t kMaxRhsFileBytes = std::size_t{16} << 20;

// Outcome of reading the files of one right-hand side.
struct RhsFileResult {
  bool ok = false;
  std::string value;  // base64 of the contents (ok) or Postfix's error text
};

// Read the files named in pathnames (separated by commas and white space),
// join their contents with a newline between files, and base64-encode the
// result (RFC 4648 alphabet with padding, as Postfix's base64_code).
RhsFileResult rhs_files_to_base64(std::string_view pathnames);

// Standard base64 with padding (exposed for tests).
std::string base64_encode(std::string_view data);

}  // namespace proxyd::dict
