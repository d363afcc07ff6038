// The daemon's life, in the order of Postfix's multi_server skeleton:
// start logging, pre-init (open every table while files are reachable),
// chroot and drop privileges, post-init (server, control socket, timers,
// signals, master(8) link), serve until stopped, drain. main.cpp prepares a
// RunPlan (standalone or under master(8)) and hands it to run().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dictcore/config/main_cf.h"
#include "proxyd/log.h"
#include "proxyd/reload.h"
#include "proxyd/server.h"
#include "proxyd/settings.h"

namespace proxyd::daemon {

// One socket to serve.
struct ListenSpec {
  int fd = -1;
  Role role = Role::ReadOnly;
  std::string name;
  std::optional<SocketFile> file;  // created by this process (standalone only)
};

// Everything run() needs, prepared while still privileged.
struct RunPlan {
  ConfigSource source;
  std::optional<dict::MainCf> main_cf;
  Settings settings;
  std::vector<ListenSpec> listeners;
  std::vector<std::string> own_sockets;  // absolute paths of the sockets served
  int control_fd = -1;                   // control socket, when there is one
  std::optional<SocketFile> control_file;
  bool detach = false;
  bool drop = false;                          // drop to mail_owner before serving
  std::string jail;                           // chroot directory ("" = none)
  std::optional<uint32_t> master_generation;  // set under master(8)
  std::string service;                        // master(8) service name ("" standalone)
  int metrics_fd = -1;          // metrics endpoint, when metrics_listen is set
  std::string metrics_address;  // as written in metrics_listen
  std::optional<SocketFile> metrics_file;
};

// Hold (true) or release (false) SIGTERM, SIGINT and SIGHUP. They are held
// from the moment the sockets may accept clients until the loop handles
// them: a client (or a test) that connects and then stops proxyd at once
// gets a drain, not a default signal death. Threads started meanwhile (SQL
// workers) keep them blocked, so they always reach the loop's thread.
void set_stop_signals_held(bool held);

// Serve plan until stopped; returns the exit status. Throws on a start-up
// failure (before serving).
int run(RunPlan plan, DaemonLogger& log);

}  // namespace proxyd::daemon
