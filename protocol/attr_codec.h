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
  std::size_t max_name_len = 64;            // attribute names are short words
  std::size_t max_value_len = 1024 * 1024;  // keys, values, table names
  std::size_t max_attrs = 64;               // attributes per message
  // Server side: a value over max_value_len, or one that would take the
  // message over max_message_bytes (0 = no total), is read and dropped
  // instead of failing; the message then completes as Oversized with that
  // value empty, so the stream stays in sync and the request gets an answer.
  bool discard_long_values = false;
  std::size_t max_message_bytes = 0;
};

// Result of asking the decoder for the next message.
enum class DecodeStatus {
  NeedMore,   // no complete message buffered yet
  Complete,   // one message extracted into the output list
  Malformed,  // a limit was exceeded; the stream cannot be resynchronised
  Oversized,  // a complete message whose long value(s) were dropped (see AttrLimits)
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

  // The first attribute whose value was dropped, after Oversized.
  const std::string& dropped() const { return dropped_; }

  // Bytes fed but not yet returned as part of a complete message.
  std::size_t buffered() const;

  // Heap bytes held: the input buffer's capacity plus the attributes of the
  // incomplete message (for memory accounting).
  std::size_t memory() const { return buf_.capacity() + pending_bytes_; }

  // Drop everything buffered (after an error, or to emulate Postfix's
  // discard-on-reply behaviour).
  void clear();

 private:
  // Where the decoder is inside the current (incomplete) message.
  enum class Field {
    Name,   // reading an attribute name, or the list terminator
    Value,  // reading the value of pending_name_
  };

  // Fail permanently (until clear()) with message.
  DecodeStatus fail(std::string message);
  // Drop consumed bytes from the front of buf_ once they dominate it.
  void compact();
  // While discarding_: drop the rest of the long value; false when its
  // NUL has not arrived yet.
  bool skip_discarded();
  // Longest field accepted now (a discardable value also stops at the
  // message budget).
  std::size_t field_limit(bool may_discard) const;
  // The list terminator arrived: hand over the message.
  DecodeStatus finish_message(AttrList& out);

  AttrLimits limits_;
  std::string buf_;              // received bytes; [0, field_start_) is consumed
  std::size_t field_start_ = 0;  // first byte of the field being read
  std::size_t scan_ = 0;         // bytes before this offset hold no NUL
  Field field_ = Field::Name;
  std::string pending_name_;       // name whose value is being read
  AttrList pending_;               // attributes of the incomplete message
  std::size_t pending_bytes_ = 0;  // wire bytes already moved into pending_
  bool failed_ = false;            // sticky Malformed state
  std::string error_;
  bool discarding_ = false;  // dropping the value of pending_name_
  bool oversized_ = false;   // the current message lost a value
  std::string dropped_;      // name of its first dropped value
};

// Append "name NUL value NUL" to out. A NUL inside name or value ends that
// string there, as it would for Postfix's C strings, so framing stays intact.
void append_attr(std::string& out, std::string_view name, std::string_view value);

// Append the list terminator (one NUL) to out.
void append_terminator(std::string& out);

// Encode a whole message, terminator included.
std::string encode_attrs(const AttrList& attrs);

// Parse an unsigned number the way Postfix's attr_scan0 does (sscanf "%u%c"):
// optional leading white space and sign, digits, nothing after; "-1" wraps to
// 4294967295. Returns false for empty or trailing junk. Values beyond 32 bits
// are not rejected: like glibc on LP64 the digits are converted as a 64-bit
// strtoul (saturating at 2^64-1, then negated for '-') and truncated to 32
// bits, so "4294967296" -> 0 and "99999999999999999999" -> 4294967295.
bool parse_postfix_uint(std::string_view text, uint32_t& out);

// Log-safe rendering of untrusted bytes: printable ASCII kept, backslash and
// everything else as \xNN, at most max_len input bytes (then "...").
std::string printable(std::string_view bytes, std::size_t max_len = 100);

}  // namespace proxyd::protocol
