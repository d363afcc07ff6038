// GoogleTest fixture shared by the mysql and pgsql driver tests: one private
// server (tests/fakes/db_servers.h) per test suite, every test failing (not
// skipping) when it could not be started, plus the host and query helpers
// both drivers' tests use. Test thread only.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <optional>
#include <string>

#include "dictcore/pool/session.h"
#include "tests/fakes/db_servers.h"

namespace proxyd::dict::testing {

// Fixture base for driver tests against a Server (MariaDbServer, PgServer).
template <typename Server>
class DbSessionFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    signal(SIGPIPE, SIG_IGN);
    server_ = Server::start(start_error_);
  }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override {
    ASSERT_NE(server_, nullptr)
        << "cannot start a private " << Server::kStartHint << ": " << start_error_;
  }

  // An "inet:127.0.0.1:PORT" host.
  static HostSpec tcp_host(int port) {
    return HostSpec{"inet:127.0.0.1:" + std::to_string(port), HostKind::Inet, "127.0.0.1",
                    std::to_string(port)};
  }

  // The single value of a one-row, one-column query.
  static std::optional<std::string> scalar(SqlSession& s, const std::string& sql) {
    QueryResult r = s.query(sql);
    EXPECT_EQ(r.status, QueryStatus::Rows) << sql << ": " << r.message;
    if (r.rows.size() != 1 || r.rows[0].size() != 1) {
      ADD_FAILURE() << sql << ": expected one value, got " << r.rows.size() << " rows";
      return std::nullopt;
    }
    return r.rows[0][0];
  }

  static inline std::unique_ptr<Server> server_;
  static inline std::string start_error_;
};

}  // namespace proxyd::dict::testing
