// evhttp glue for the metrics endpoint (see metrics_server.h). Requests are
// small and bounded: headers at most 8 KiB, no body, 10 s to send them.
#include "proxyd/metrics_server.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace proxyd::daemon {

void MetricsServer::HttpDeleter::operator()(evhttp* h) const { evhttp_free(h); }

MetricsServer::MetricsServer(EventLoop& loop, int fd, std::function<std::string()> render,
                             dict::Logger& log)
    : render_(std::move(render)), log_(log), http_(evhttp_new(loop.base())) {
  if (!http_) {
    ::close(fd);
    throw std::runtime_error("metrics: cannot create the HTTP server");
  }
  // Every method reaches on_request, which answers 405 to all but GET/HEAD.
  evhttp_set_allowed_methods(
      http_.get(), EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                       EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
  evhttp_set_max_headers_size(http_.get(), 8192);
  evhttp_set_max_body_size(http_.get(), 0);
  evhttp_set_timeout(http_.get(), 10);
  evhttp_set_gencb(http_.get(), &MetricsServer::on_request, this);
  evutil_make_socket_nonblocking(fd);
  if (evhttp_accept_socket_with_handle(http_.get(), fd) == nullptr) {
    ::close(fd);
    throw std::runtime_error("metrics: cannot listen");
  }
}

MetricsServer::~MetricsServer() = default;

void MetricsServer::on_request(evhttp_request* req, void* arg) noexcept {
  auto* self = static_cast<MetricsServer*>(arg);
  if ((evhttp_request_get_command(req) & (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)) == 0) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
    evhttp_send_error(req, 405, "Method Not Allowed");
    return;
  }
  const char* uri = evhttp_request_get_uri(req);
  const evhttp_uri* parsed = evhttp_request_get_evhttp_uri(req);
  const char* path = parsed ? evhttp_uri_get_path(parsed) : uri;
  if (path == nullptr || std::strcmp(path, "/metrics") != 0) {
    evhttp_send_error(req, HTTP_NOTFOUND, "try /metrics");
    return;
  }
  std::string body;
  try {
    body = self->render_();
  } catch (const std::exception& e) {
    self->log_.warn("metrics: {}", e.what());
    evhttp_send_error(req, HTTP_INTERNAL, nullptr);
    return;
  }
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  evhttp_add_header(headers, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  evbuffer* out = evbuffer_new();
  if (out == nullptr) {
    evhttp_send_error(req, HTTP_INTERNAL, nullptr);
    return;
  }
  evbuffer_add(out, body.data(), body.size());
  evhttp_send_reply(req, HTTP_OK, "OK", out);
  evbuffer_free(out);
}

}  // namespace proxyd::daemon
