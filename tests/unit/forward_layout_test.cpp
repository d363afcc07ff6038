// Tests for the forwarding layout helpers (issue 12): the role of a
// master.cf service from main.cf's service names, where the stock service's
// socket is seen from a chroot jail, when forwarding is off (proxyd's own
// socket), and the forward_* settings.
#include "proxyd/forward_layout.h"

#include <gtest/gtest.h>

#include "dictcore/config/main_cf.h"
#include "dictcore/util/config_error.h"
#include "proxyd/master_proto.h"
#include "tests/fakes/capture_logger.h"

namespace proxyd::daemon {
namespace {

using dict::testing::CaptureLogger;

TEST(ForwardLayout, RoleFromServiceNames) {
  CaptureLogger log;
  dict::MainCf cf = dict::MainCf::from_string(
      "proxymap_service_name = proxyd\nproxywrite_service_name = proxyd-write\n", log);
  std::string error;
  EXPECT_EQ(role_for_service("proxyd", cf, error), Role::ReadOnly);
  EXPECT_EQ(role_for_service("proxyd-write", cf, error), Role::ReadWrite);
  EXPECT_FALSE(role_for_service("proxymap", cf, error));
  EXPECT_NE(error.find("proxymap_service_name (proxyd)"), std::string::npos) << error;
  // Postfix's defaults: the drop-in layout.
  dict::MainCf plain = dict::MainCf::from_string("", log);
  EXPECT_EQ(role_for_service("proxymap", plain, error), Role::ReadOnly);
  EXPECT_EQ(role_for_service("proxywrite", plain, error), Role::ReadWrite);
  EXPECT_FALSE(role_for_service("proxyd", plain, error));
}

TEST(ForwardLayout, SocketPathRelativeToQueueAndJail) {
  const std::vector<std::string> own = {"/var/spool/postfix/private/proxyd"};
  EXPECT_EQ(forward_socket_path("private/proxymap", "/var/spool/postfix", "", own),
            "/var/spool/postfix/private/proxymap");
  EXPECT_EQ(forward_socket_path("private/proxymap", "/var/spool/postfix",
                                "/var/spool/postfix", own),
            "/private/proxymap");
  EXPECT_EQ(forward_socket_path("/run/pm.sock", "/var/spool/postfix", "", own),
            "/run/pm.sock");
  EXPECT_EQ(forward_socket_path("", "/var/spool/postfix", "", own), "");
  // The drop-in layout: forwarding to itself is off.
  EXPECT_EQ(forward_socket_path("private/proxymap", "/var/spool/postfix", "",
                                {"/var/spool/postfix/private/proxymap"}),
            "");
}

TEST(ForwardLayout, SettingsAndLimits) {
  CaptureLogger log;
  Settings s = parse_settings(
      "forward_read_socket = /tmp/x\nforward_write_socket =\nforward_connections = 2\n"
      "forward_max_queue = 7\nlookup_timeout = 3\n",
      "proxyd.cf", log);
  EXPECT_EQ(s.forward_read_socket, "/tmp/x");
  EXPECT_EQ(s.forward_write_socket, "");
  ForwardLimits l = forward_limits(s, "/tmp/x");
  EXPECT_EQ(l.max_connections, 2u);
  EXPECT_EQ(l.max_queue, 7u);
  EXPECT_EQ(l.timeout, std::chrono::seconds(3));
  EXPECT_THROW(parse_settings("forward_read_socket = a b\n", "proxyd.cf", log),
               dict::ConfigError);
  EXPECT_THROW(parse_settings("forward_connections = 0\n", "proxyd.cf", log),
               dict::ConfigError);
}

TEST(ForwardLayout, LayoutLinesAndDetection) {
  std::string lines = forwarding_layout_lines(true);
  EXPECT_NE(
      lines.find("proxyd       unix  -       -       y       -       -       proxyd"),
      std::string::npos);
  EXPECT_NE(lines.find("proxymap_service_name = proxyd\n"), std::string::npos);
  CaptureLogger log;
  dict::MainCf cf = dict::MainCf::from_string("proxymap_service_name = proxyd\n", log);
  EXPECT_TRUE(forwarding_layout_configured(
      cf, "proxymap unix - - n - - proxymap\nproxyd unix - - y - - proxyd\n"));
  EXPECT_FALSE(forwarding_layout_configured(cf, "proxymap unix - - n - - proxyd\n"));
  dict::MainCf plain = dict::MainCf::from_string("", log);
  EXPECT_FALSE(forwarding_layout_configured(
      plain, "proxymap unix - - n - - proxymap\nproxyd unix - - y - - proxyd\n"));
}

}  // namespace
}  // namespace proxyd::daemon
