// The release-dependent default of proxy_read_maps (see release_defaults.h).
#include "dictcore/config/release_defaults.h"

#include <span>
#include <string_view>

namespace proxyd::dict {
namespace {

// Every release from 3.6.0 on.
constexpr std::string_view kBase[] = {
    "local_recipient_maps",
    "mydestination",
    "virtual_alias_maps",
    "virtual_alias_domains",
    "virtual_mailbox_maps",
    "virtual_mailbox_domains",
    "relay_recipient_maps",
    "relay_domains",
    "canonical_maps",
    "sender_canonical_maps",
    "recipient_canonical_maps",
    "relocated_maps",
    "transport_maps",
    "mynetworks",
    "smtpd_sender_login_maps",
    "sender_bcc_maps",
    "recipient_bcc_maps",
    "smtp_generic_maps",
    "lmtp_generic_maps",
    "alias_maps",
    "smtpd_client_restrictions",
    "smtpd_helo_restrictions",
    "smtpd_sender_restrictions",
    "smtpd_relay_restrictions",
    "smtpd_recipient_restrictions",
    "address_verify_sender_dependent_default_transport_maps",
    "address_verify_sender_dependent_relayhost_maps",
    "address_verify_transport_maps",
    "fallback_transport_maps",
    "lmtp_discard_lhlo_keyword_address_maps",
    "lmtp_pix_workaround_maps",
    "lmtp_sasl_password_maps",
    "lmtp_tls_policy_maps",
    "mailbox_command_maps",
    "mailbox_transport_maps",
    "postscreen_discard_ehlo_keyword_address_maps",
    "rbl_reply_maps",
    "sender_dependent_default_transport_maps",
    "sender_dependent_relayhost_maps",
    "smtp_discard_ehlo_keyword_address_maps",
    "smtp_pix_workaround_maps",
    "smtp_sasl_password_maps",
    "smtp_tls_policy_maps",
    "smtpd_discard_ehlo_keyword_address_maps",
    "smtpd_milter_maps",
    "virtual_gid_maps",
    "virtual_uid_maps"};

// Added in 3.6.4 (and so in every 3.7).
constexpr std::string_view kFrom364[] = {
    "local_login_sender_maps", "postscreen_reject_footer_maps",
    "smtpd_reject_footer_maps", "tls_server_sni_maps"};

// Added in 3.7.0 (not in any 3.6).
constexpr std::string_view kFrom370[] = {"tlsproxy_client_policy_maps"};

// Added in 3.6.6 and in 3.7.1 (3.7.0 lacks them).
constexpr std::string_view kFilters[] = {"default_delivery_status_filter",
                                         "lmtp_delivery_status_filter",
                                         "lmtp_dns_reply_filter",
                                         "lmtp_reply_filter",
                                         "local_delivery_status_filter",
                                         "pipe_delivery_status_filter",
                                         "postscreen_command_filter",
                                         "smtp_delivery_status_filter",
                                         "smtp_dns_reply_filter",
                                         "smtp_reply_filter",
                                         "smtpd_command_filter",
                                         "smtpd_dns_reply_filter",
                                         "virtual_delivery_status_filter",
                                         "body_checks",
                                         "header_checks",
                                         "lmtp_body_checks",
                                         "lmtp_header_checks",
                                         "lmtp_mime_header_checks",
                                         "lmtp_nested_header_checks",
                                         "milter_header_checks",
                                         "mime_header_checks",
                                         "nested_header_checks",
                                         "smtp_body_checks",
                                         "smtp_header_checks",
                                         "smtp_mime_header_checks",
                                         "smtp_nested_header_checks"};

// Added in 3.11.0: every other parameter that may name a table.
constexpr std::string_view kFrom3110[] = {"smtpd_reject_filter_maps",
                                          "debug_peer_list",
                                          "smtpd_etrn_restrictions",
                                          "fast_flush_domains",
                                          "authorized_flush_users",
                                          "lmtp_connection_cache_destinations",
                                          "local_header_rewrite_clients",
                                          "masquerade_exceptions",
                                          "postscreen_access_list",
                                          "postscreen_allowlist_interfaces",
                                          "postscreen_forbidden_commands",
                                          "qmqpd_authorized_clients",
                                          "authorized_mailq_users",
                                          "smtp_connection_cache_destinations",
                                          "smtpd_log_access_permit_actions",
                                          "smtpd_forbidden_commands",
                                          "smtpd_client_event_limit_exceptions",
                                          "smtpd_sasl_exceptions_networks",
                                          "smtpd_sasl_mechanism_filter",
                                          "smtp_requiretls_policy",
                                          "smtp_sasl_mechanism_filter",
                                          "authorized_submit_users",
                                          "smtpd_authorized_verp_clients",
                                          "smtpd_authorized_xclient_hosts",
                                          "smtpd_authorized_xforward_hosts"};

void append(std::string& out, std::span<const std::string_view> names) {
  for (std::string_view name : names) {
    if (!out.empty()) out += ' ';
    out += '$';
    out += name;
  }
}

}  // namespace

std::string default_proxy_read_maps(PostfixVersion release) {
  const PostfixVersion v364{3, 6, 4}, v366{3, 6, 6}, v370{3, 7, 0}, v371{3, 7, 1},
      v3110{3, 11, 0};
  std::string out;
  append(out, kBase);
  if (release >= v364) append(out, kFrom364);
  if (release >= v370) append(out, kFrom370);
  if ((release >= v366 && release < v370) || release >= v371) append(out, kFilters);
  if (release >= v3110) append(out, kFrom3110);
  return out;
}

}  // namespace proxyd::dict
