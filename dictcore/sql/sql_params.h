// Parameter source for SQL table configuration: the typed getters of
// Postfix's cfg_parser (cfg_get_str with length limits, cfg_get_int with a
// range, cfg_get_bool yes/no) behind an interface, so SQL tables can be
// built from a TableConfig (.cf file / main.cf prefix) or from a plain map
// in tests. Immutable after construction; any thread.
#pragma once

#include <climits>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "dictcore/config/table_cf.h"

namespace proxyd::dict {

class SqlParamSource {
 public:
  virtual ~SqlParamSource() = default;

  // True when the parameter is set.
  virtual bool has(std::string_view param) const = 0;

  // String value (or def); ConfigError when shorter than min_len.
  virtual std::string get_str(std::string_view param, std::string_view def,
                              std::size_t min_len = 0) const = 0;

  // Integer value (or def) in [min, max]; ConfigError when malformed or out of range.
  virtual int get_int(std::string_view param, int def, int min = INT_MIN,
                      int max = INT_MAX) const = 0;

  // yes/no value (or def); ConfigError when malformed.
  virtual bool get_bool(std::string_view param, bool def) const = 0;

  // Where the parameters come from, for messages ("/etc/postfix/x.cf").
  virtual std::string origin() const = 0;
};

// Parameters held in a map, checked like Postfix's cfg_parser (tests, tools).
class MapParams final : public SqlParamSource {
 public:
  MapParams(std::map<std::string, std::string, std::less<>> values, std::string origin)
      : values_(std::move(values)), origin_(std::move(origin)) {}

  bool has(std::string_view param) const override;
  std::string get_str(std::string_view param, std::string_view def,
                      std::size_t min_len = 0) const override;
  int get_int(std::string_view param, int def, int min = INT_MIN,
              int max = INT_MAX) const override;
  bool get_bool(std::string_view param, bool def) const override;
  std::string origin() const override { return origin_; }

 private:
  std::map<std::string, std::string, std::less<>> values_;
  std::string origin_;
};

// A table's .cf file (or main.cf prefix) seen through SqlParamSource.
class TableConfigParams final : public SqlParamSource {
 public:
  explicit TableConfigParams(TableConfig cfg) : cfg_(std::move(cfg)) {}
  bool has(std::string_view param) const override { return cfg_.has(param); }
  std::string get_str(std::string_view param, std::string_view def,
                      std::size_t min_len = 0) const override {
    return cfg_.get_str(param, def, min_len);
  }
  int get_int(std::string_view param, int def, int min = INT_MIN,
              int max = INT_MAX) const override {
    return cfg_.get_int(param, def, min, max);
  }
  bool get_bool(std::string_view param, bool def) const override {
    return cfg_.get_bool(param, def);
  }
  std::string origin() const override { return cfg_.origin(); }

 private:
  TableConfig cfg_;
};

}  // namespace proxyd::dict
