// Reading a texthash: source file whole, with a size cap, refusing FIFOs and
// sockets, and reading again a file that changed while it was read. Loop
// thread (blocking file I/O, bounded by the cap).
#pragma once

#include <string>

namespace proxyd::dict {

// Read a whole texthash file; ConfigUnavailable when it cannot be read. A
// file that changes while it is read is read again (Postfix waits for a
// "hot" file to cool down; proxyd must not stall the loop for seconds).
std::string read_texthash_file(const std::string& path);

}  // namespace proxyd::dict
