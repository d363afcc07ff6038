// Postfix "attr 0" framing used on the proxymap sockets: a message is
// name NUL value NUL ... followed by one extra NUL. Incremental decoder that
// copes with partial reads and several messages per read, and an encoder.
// Every size is bounded; no state is shared between instances.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace proxyd::protocol {

// One attribute: raw bytes, never containing NUL.
struct Attr {
  std::string name;
  std::string value;
  bool operator==(const Attr&) const = default;
};

// One message (attribute list) in wire order.
using AttrList = std::vector<Attr>;

// Hard limits enforced by the decoder.
struct AttrLimits {
  std::size_t max_name_len = 64;           // attribute names are short words
  std::size_t max_value_len = 1024 * 1024;  // keys, values, table names
  std::size_t max_attrs = 64;               // attributes per message
};

// Result of asking the decoder for the next message.
enum class DecodeStatus {
  NeedMore,   // no complete message buffered yet
  Complete,   // one message extracted into the output list
  Malformed,  // a limit was exceeded; the stream cannot be resynchronised
};

// Incremental decoder: feed() raw bytes, then call next() until NeedMore.
class AttrDecoder {
 public:
  explicit AttrDecoder(AttrLimits limits = {});

  // Append bytes received from the peer.
  void feed(std::string_view bytes);

  // Extract the next complete message into out (cleared first).
  DecodeStatus next(AttrList& out);

  // Why the last next() returned Malformed.
  const std::string& error() const { return error_; }

  // Bytes fed but not yet returned as part of a complete message.
  std::size_t buffered() const;

  // Drop everything buffered (after an error, or to emulate Postfix's
  // discard-on-reply behaviour).
  void clear();

 private:
  AttrLimits limits_;
  std::string buf_;
  std::size_t pos_ = 0;  // start of the first unreturned byte in buf_
  std::string error_;
};

// Append "name NUL value NUL" to out.
void append_attr(std::string& out, std::string_view name, std::string_view value);

// Append the list terminator (one NUL) to out.
void append_terminator(std::string& out);

// Encode a whole message, terminator included.
std::string encode_attrs(const AttrList& attrs);

// Parse an unsigned number the way Postfix's attr_scan0 does (sscanf "%u%c"):
// optional leading white space and sign, digits, nothing after; "-1" wraps to
// 4294967295. Returns false for empty or trailing junk.
bool parse_postfix_uint(std::string_view text, uint32_t& out);

}  // namespace proxyd::protocol
