// The $name expander behind MainCf::get/expand: a reimplementation of
// Postfix's mac_parse + mac_expand(MAC_EXP_FLAG_RECURSE), bounded in nesting,
// work and output size.
#include "dictcore/config/macro_expand.h"

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <utility>

#include "dictcore/config/main_cf.h"
#include "dictcore/util/braces.h"
#include "dictcore/util/fold.h"
#include "dictcore/util/text.h"
#include "dictcore/util/tokens.h"

namespace proxyd::dict {
namespace {

// mac_expand limits: Postfix's nesting limit, plus bounds on work and
// output so that pathological main.cf files cannot exhaust memory or time.
constexpr int kMaxNesting = 100;
constexpr std::size_t kMaxSteps = 100000;
constexpr std::size_t kMaxOutput = 1 << 20;

constexpr std::string_view kSpace = kSpaceSeparators;  // CHARS_SPACE
constexpr std::string_view kOperatorChars = "<>!=?+-*/~&|%";

std::size_t span(std::string_view s, std::string_view set) {
  const std::size_t n = s.find_first_not_of(set);
  return n == std::string_view::npos ? s.size() : n;
}

std::string excerpt(std::string_view s, std::size_t n) {
  return std::string(s.substr(0, n));
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// strtol(…, 10) over the whole string, as Postfix's sane_strtol users do.
std::optional<long> whole_long(std::string_view s) {
  std::string copy(s);
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(copy.c_str(), &end, 10);
  if (copy.empty() || *end != 0 || errno == ERANGE) return std::nullopt;
  return v;
}

// compat_level_from_string: major[.minor[.patch]] as one comparable number.
std::optional<long> compat_level(std::string_view s) {
  constexpr int kMinorWidth = 10, kPatchWidth = 10;
  constexpr long kMinorMax = 0x3ff, kPatchMax = 0x3ff;
  constexpr long kMajorMax = LONG_MAX >> (kMinorWidth + kPatchWidth);
  std::string copy(s);
  const char* start = copy.c_str();
  char* rest = nullptr;
  errno = 0;
  const long major = std::strtol(start, &rest, 10);
  if (start == rest || (*rest != 0 && *rest != '.') || errno == ERANGE || major < 0 ||
      major > kMajorMax)
    return std::nullopt;
  long result = major << (kMinorWidth + kPatchWidth);
  if (*rest == 0) return result;
  start = rest + 1;
  errno = 0;
  const long minor = std::strtol(start, &rest, 10);
  if (start == rest || (*rest != 0 && *rest != '.') || errno == ERANGE || minor < 0 ||
      minor > kMinorMax)
    return std::nullopt;
  result |= minor << kPatchWidth;
  if (*rest == 0) return result;
  start = rest + 1;
  errno = 0;
  const long patch = std::strtol(start, &rest, 10);
  if (start == rest || *rest != 0 || errno == ERANGE || patch < 0 || patch > kPatchMax)
    return std::nullopt;
  return result | patch;
}

enum class RelOp { Eq, Ne, Lt, Le, Ge, Gt };

std::optional<RelOp> rel_op(std::string_view op) {
  if (op == "==") return RelOp::Eq;
  if (op == "!=") return RelOp::Ne;
  if (op == "<") return RelOp::Lt;
  if (op == "<=") return RelOp::Le;
  if (op == ">=") return RelOp::Ge;
  if (op == ">") return RelOp::Gt;
  return std::nullopt;
}

bool apply(RelOp op, long delta) {
  switch (op) {
    case RelOp::Eq:
      return delta == 0;
    case RelOp::Ne:
      return delta != 0;
    case RelOp::Lt:
      return delta < 0;
    case RelOp::Le:
      return delta <= 0;
    case RelOp::Ge:
      return delta >= 0;
    case RelOp::Gt:
      return delta > 0;
  }
  return false;
}

// One expansion in the style of mac_expand(MAC_EXP_FLAG_RECURSE): the
// first error is logged and stops further output, as Postfix's status flag
// does (Postfix then exits with "macro processing error").
class Expander {
 public:
  Expander(const MainCf& cf, Logger& log) : cf_(cf), log_(log) {}

  std::string run(std::string_view pattern) {
    parse(pattern);
    return std::move(out_);
  }

 private:
  void error(const std::string& message) {
    if (!failed_) log_.warn("{}", message);
    failed_ = true;
  }

  void emit(std::string_view text) {
    if (failed_) return;
    if (out_.size() + text.size() > kMaxOutput) {
      error(fmt::format("macro expansion result exceeds {} bytes", kMaxOutput));
      return;
    }
    out_.append(text);
  }

  // mac_parse: split into literal text and $name / ${…} / $(…) references.
  void parse(std::string_view value) {
    std::string literal;
    std::size_t i = 0;
    while (i < value.size() && !failed_) {
      if (value[i] != '$') {
        literal += value[i++];
      } else if (i + 1 < value.size() && value[i + 1] == '$') {
        literal += '$';
        i += 2;
      } else {
        emit(literal);
        literal.clear();
        ++i;
        std::string_view name;
        if (i < value.size() && (value[i] == '{' || value[i] == '(')) {
          const char open = value[i];
          const char close = open == '{' ? '}' : ')';
          const std::size_t begin = ++i;
          int level = 1;
          std::size_t j = begin;
          for (; level > 0; ++j) {
            if (j >= value.size()) {
              error(
                  fmt::format("truncated macro reference: \"{}\"", excerpt(value, 100)));
              return;
            }
            if (value[j] == open) ++level;
            if (value[j] == close) --level;
          }
          name = value.substr(begin, j - begin - 1);
          i = j;
        } else {
          const std::size_t begin = i;
          while (i < value.size() && (ascii_alnum(value[i]) || value[i] == '_')) ++i;
          name = value.substr(begin, i - begin);
        }
        if (name.empty()) {
          error(fmt::format("empty macro name: \"{}\"", excerpt(value, 100)));
          return;
        }
        expression(name);
      }
    }
    if (!literal.empty()) emit(literal);
  }

  // Expand text into a separate buffer (relational operands).
  std::string sub_expand(std::string_view text) {
    std::string saved = std::move(out_);
    out_.clear();
    parse(text);
    std::string result = std::move(out_);
    out_ = std::move(saved);
    return result;
  }

  // mac_exp_extract_curly_payload: cp starts at '{'; on success cp is left
  // after the closing '}' and any white space.
  std::optional<std::string_view> curly_payload(std::string_view& cp, bool strip) {
    const std::size_t length = balanced_length(cp);
    if (length == 0) {
      error(fmt::format("unbalanced {{}} in attribute expression: \"{}\"",
                        excerpt(cp, 100)));
      return std::nullopt;
    }
    std::size_t begin = 1;
    if (strip) begin += span(cp.substr(1), kSpace);
    const std::size_t i = length - 1;  // the closing '}'
    std::string_view payload = cp.substr(begin, i - begin);
    if (strip) {
      while (!payload.empty() && kSpace.find(payload.back()) != std::string_view::npos)
        payload.remove_suffix(1);
    }
    cp.remove_prefix(i + 1);
    cp.remove_prefix(span(cp, kSpace));
    return payload;
  }

  // "{left} op[suffix] {right}": on success sets truth and advances cp.
  bool relational(std::string_view& cp, bool& truth) {
    auto left = curly_payload(cp, false);
    if (!left) return false;
    const std::size_t op_len = span(cp, kOperatorChars);
    const std::string_view op_text = cp.substr(0, op_len);
    const auto op = rel_op(op_text);
    if (!op) {
      error(fmt::format(
          "\"==\" or \"!=\" or \"<\" or \"<=\" or \">=\" or \">\" expected at: "
          "\"...{}}}>>>{}\"",
          *left, excerpt(cp, 20)));
      return false;
    }
    cp.remove_prefix(op_len);
    bool compat = false;
    if (!cp.empty() && ascii_alnum(cp[0])) {
      std::size_t n = 0;
      while (n < cp.size() && ascii_alnum(cp[n])) ++n;
      if (cp.substr(0, n) != "level") {
        error(fmt::format("bad operator suffix at: \"...{}>>>{}\"", op_text,
                          cp.substr(0, n)));
        return false;
      }
      compat = true;
      cp.remove_prefix(n);
    }
    const std::size_t ws = span(cp, kSpace);
    if (ws >= cp.size() || cp[ws] != '{') {
      error(fmt::format("\"{{expression}}\" expected at: \"...{{{}}} {}>>>{}\"", *left,
                        op_text, excerpt(cp, 20)));
      return false;
    }
    cp.remove_prefix(ws);
    auto right = curly_payload(cp, false);
    if (!right) return false;
    const std::string lval = sub_expand(*left);
    const std::string rval = sub_expand(*right);
    if (failed_) return false;
    long delta = 0;
    if (compat) {
      const auto l = compat_level(lval);
      const auto r = compat_level(rval);
      if (!l || !r) {
        error(fmt::format("malformed compatibility level syntax: \"{}\"",
                          excerpt(l ? rval : lval, 100)));
        return false;
      }
      delta = *l - *r;
    } else if (all_digits(lval) && all_digits(rval)) {
      const auto l = whole_long(lval);
      const auto r = whole_long(rval);
      if (!l || !r) {
        error(fmt::format("mac_exp_eval: bad conversion: {}", l ? rval : lval));
        return false;
      }
      // Both are non-negative, so the difference cannot overflow.
      delta = *l - *r;
    } else {
      const int c = std::string_view(lval).compare(rval);
      delta = c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    truth = apply(*op, delta);
    return true;
  }

  // The operand after '?' or ':': "{text}" or the rest of the expression.
  std::optional<std::string_view> operand(std::string_view& cp) {
    const std::size_t ws = span(cp, kSpace);
    if (ws < cp.size() && cp[ws] == '{') {
      cp.remove_prefix(ws);
      return curly_payload(cp, false);
    }
    std::string_view rest = cp;
    cp = {};
    return rest;
  }

  // mac_expand_callback for one reference: "name", "name?text",
  // "name:text", "name?{a}:{b}", "{left} op {right}?{a}:{b}", or a
  // function "name{arg}".
  void expression(std::string_view expr) {
    struct Depth {
      int& d;
      explicit Depth(int& depth) : d(depth) { ++d; }
      ~Depth() { --d; }
    } depth(depth_);
    if (depth_ > kMaxNesting) {
      error(fmt::format("unreasonable macro call nesting: \"{}\"", excerpt(expr, 100)));
    }
    if (++steps_ > kMaxSteps) {
      error(fmt::format("macro expansion needs more than {} steps", kMaxSteps));
    }
    if (failed_) return;

    std::string_view cp = expr;
    cp.remove_prefix(span(cp, kSpace));
    std::optional<std::string> lookup;
    char ch = 0;
    const bool go_on = !cp.empty() && cp[0] == '{' ? relational_head(cp, lookup, ch)
                                                   : name_head(expr, cp, lookup, ch);
    if (go_on) conditional(cp, ch, lookup);
  }

  // "{left} op {right}" and the '?' or ':' that may follow: lookup is
  // "true" or "", ch the operator. False on an error.
  bool relational_head(std::string_view& cp, std::optional<std::string>& lookup,
                       char& ch) {
    bool truth = false;
    if (!relational(cp, truth)) return false;
    lookup = truth ? "true" : "";
    if (cp.empty()) return true;
    ch = cp[0];
    if (ch != '?' && ch != ':') {
      error(fmt::format("\"?\" or \":\" expected at: \"...}}>>>{}\"", excerpt(cp, 20)));
      return false;
    }
    cp.remove_prefix(1);
    return true;
  }

  // A parameter name and the '?' or ':' that may follow: lookup is its
  // value, ch the operator. False when nothing is left to do: a function
  // call was expanded, or an error reported.
  bool name_head(std::string_view expr, std::string_view& cp,
                 std::optional<std::string>& lookup, char& ch) {
    for (std::size_t k = 0;; ++k) {
      const std::size_t ws = span(cp.substr(k), kSpace);
      if (k + ws >= cp.size()) {
        lookup = cf_.raw(cp.substr(0, k));
        cp = {};
        return true;
      }
      const char next = cp[k + ws];
      if (next == '?' || next == ':') {
        lookup = cf_.raw(cp.substr(0, k));
        ch = next;
        cp.remove_prefix(k + ws + 1);
        return true;
      }
      if (next == '{') {
        function_call(cp.substr(0, k), cp.substr(k + ws));
        return false;
      }
      if (!ascii_alnum(cp[k]) && cp[k] != '_') {
        error(fmt::format(
            "attribute name syntax error at: \"...{}>>>{}\"",
            expr.substr(0, static_cast<std::size_t>(cp.data() + k - expr.data())),
            excerpt(cp.substr(k), 20)));
        return false;
      }
    }
  }

  // What follows the name or relation: "?text", ":text", "?{a}:{b}", or
  // nothing (ch == 0: a plain reference, where undefined and empty both
  // expand to nothing).
  void conditional(std::string_view cp, char ch,
                   const std::optional<std::string>& lookup) {
    const bool non_empty = lookup && !lookup->empty();
    if (ch == '?') {
      auto if_true = operand(cp);
      if (!if_true) return;
      if (non_empty) parse(*if_true);
      if (cp.empty()) return;
      if (cp[0] != ':') {
        error(fmt::format("\":\" expected at: \"...{}}}>>>{}\"", *if_true,
                          excerpt(cp, 20)));
        return;
      }
      cp.remove_prefix(1);
      ch = ':';
    }
    if (ch == ':') {
      auto if_false = operand(cp);
      if (!if_false) return;
      if (!non_empty) parse(*if_false);
      if (!cp.empty()) {
        error(fmt::format("unexpected input at: \"...{}}}>>>{}\"", *if_false,
                          excerpt(cp, 20)));
      }
      return;
    }
    if (non_empty) parse(*lookup);
  }

  // ${name{text}}: Postfix 3.11 named functions (mac_midna). Only the
  // conversions that need no IDNA library are done: ASCII stays ASCII for
  // domain_to_ascii, and UTF-8 (or ASCII without "xn--") stays as it is for
  // domain_to_utf8; anything else is reported as unsupported.
  // XXX(conf): Postfix built with EAI may also fold case here.
  void function_call(std::string_view name, std::string_view cp) {
    auto arg = curly_payload(cp, true);
    if (!arg) return;
    if (!cp.empty()) {
      error(fmt::format("unexpected input at: \"...{}}}>>>{}\"", *arg, excerpt(cp, 20)));
      return;
    }
    if (name != "domain_to_ascii" && name != "domain_to_utf8") {
      error(
          fmt::format("unknown function \"{}\" at\"...>>>{}{{{}}}\"", name, name, *arg));
      return;
    }
    const std::string value = sub_expand(*arg);
    if (failed_) return;
    const bool ascii = is_ascii(value);
    const std::string lower = ascii_lowercased(value);
    const bool has_alabel =
        lower.rfind("xn--", 0) == 0 || lower.find(".xn--") != std::string::npos;
    const bool identity = name == "domain_to_ascii" ? ascii : (!ascii || !has_alabel);
    if (!identity) {
      error(
          fmt::format("bad domain argument in: '{}{{{}}}' (IDNA conversion is not "
                      "supported)",
                      name, value));
      return;
    }
    emit(value);
  }

  const MainCf& cf_;
  Logger& log_;
  std::string out_;
  int depth_ = 0;
  std::size_t steps_ = 0;
  bool failed_ = false;
};

}  // namespace

std::string expand_macros(const MainCf& cf, std::string_view text, Logger& log) {
  return Expander(cf, log).run(text);
}

}  // namespace proxyd::dict
