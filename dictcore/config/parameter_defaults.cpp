// The defaults table of parameter_defaults.h. Long on purpose: it is data,
// one row per Postfix parameter.
#include "dictcore/config/parameter_defaults.h"

#include <algorithm>

namespace proxyd::dict {
namespace {

// Defaults that exist inside a Postfix 3.11 proxymap process: the global
// parameters it reads (mail_params.c) and proxymap's own parameter table.
// Other parameters named in proxy_read_maps expand to empty there unless
// main.cf sets them (source: proxymap.c main(), mail_params.[ch]).
// XXX(conf): mynetworks is computed from interfaces by Postfix; it can
// never contribute a table, so it has no default here.

constexpr ParameterDefault kDefaults[] = {
    // Global parameters.
    {"queue_directory", "/var/spool/postfix"},
    {"data_directory", "/var/lib/postfix"},
    {"mail_owner", "postfix"},
    {"import_environment",  // Postfix 3.7 DEF_IMPORT_ENVIRON
     "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE "
     "POSTLOG_HOSTNAME"},
    {"compatibility_level", "0"},
    {"smtputf8_enable", "${{$compatibility_level} <level {1} ? {no} : {yes}}"},
    {"myorigin", "$myhostname"},
    {"mydestination", "$myhostname, localhost.$mydomain, localhost"},
    {"relay_domains", "${{$compatibility_level} <level {2} ? {$mydestination} : {}}"},
    {"smtpd_relay_restrictions",
     "${{$compatibility_level} <level {1} ? {} : {permit_mynetworks, "
     "permit_sasl_authenticated, defer_unauth_destination}}"},
    {"fast_flush_domains", "$relay_domains"},
    {"debug_peer_list", ""},
    {"default_delivery_status_filter", ""},
    {"default_database_type", "hash"},
    {"default_cache_db_type", "btree"},
    {"max_idle", "100s"},
    {"max_use", "100"},
    {"ipc_timeout", "3600s"},
    {"daemon_timeout", "18000s"},
    {"line_length_limit", "2048"},
    {"proxymap_service_name", "proxymap"},
    {"proxywrite_service_name", "proxywrite"},
    // proxymap's own table (3.11), in its evaluation order.
    {"alias_maps", "$default_database_type:/etc/aliases, nis:mail.aliases"},
    {"local_recipient_maps", "proxy:unix:passwd.byname $alias_maps"},
    {"virtual_alias_maps", "$virtual_maps"},
    {"virtual_alias_domains", "$virtual_alias_maps"},
    {"virtual_mailbox_maps", ""},
    {"virtual_mailbox_domains", "$virtual_mailbox_maps"},
    {"relay_recipient_maps", ""},
    {"canonical_maps", ""},
    {"sender_canonical_maps", ""},
    {"recipient_canonical_maps", ""},
    {"relocated_maps", ""},
    {"transport_maps", ""},
    {"smtpd_sender_login_maps", ""},
    {"smtpd_forbidden_commands", "CONNECT GET POST regexp:{{/^[^A-Z]/ Bogus}}"},
    {"postscreen_forbidden_commands", "$smtpd_forbidden_commands"},
    {"address_verify_map", "$default_cache_db_type:$data_directory/verify_cache"},
    {"postscreen_cache_map", "$default_cache_db_type:$data_directory/postscreen_cache"},
    // DEF_PROXY_READ_MAPS of Postfix 3.11.0 (103 references).
    {"proxy_read_maps",
     "$local_recipient_maps $mydestination $virtual_alias_maps $virtual_alias_domains "
     "$virtual_mailbox_maps $virtual_mailbox_domains $relay_recipient_maps "
     "$relay_domains $canonical_maps $sender_canonical_maps $recipient_canonical_maps "
     "$relocated_maps $transport_maps $mynetworks $smtpd_sender_login_maps "
     "$sender_bcc_maps $recipient_bcc_maps $smtp_generic_maps $lmtp_generic_maps "
     "$alias_maps $smtpd_client_restrictions $smtpd_helo_restrictions "
     "$smtpd_sender_restrictions $smtpd_relay_restrictions "
     "$smtpd_recipient_restrictions "
     "$address_verify_sender_dependent_default_transport_maps "
     "$address_verify_sender_dependent_relayhost_maps $address_verify_transport_maps "
     "$fallback_transport_maps $lmtp_discard_lhlo_keyword_address_maps "
     "$lmtp_pix_workaround_maps $lmtp_sasl_password_maps $lmtp_tls_policy_maps "
     "$mailbox_command_maps $mailbox_transport_maps "
     "$postscreen_discard_ehlo_keyword_address_maps $rbl_reply_maps "
     "$sender_dependent_default_transport_maps $sender_dependent_relayhost_maps "
     "$smtp_discard_ehlo_keyword_address_maps $smtp_pix_workaround_maps "
     "$smtp_sasl_password_maps $smtp_tls_policy_maps "
     "$smtpd_discard_ehlo_keyword_address_maps $smtpd_milter_maps $virtual_gid_maps "
     "$virtual_uid_maps $local_login_sender_maps $postscreen_reject_footer_maps "
     "$smtpd_reject_footer_maps $tls_server_sni_maps $tlsproxy_client_policy_maps "
     "$default_delivery_status_filter $lmtp_delivery_status_filter "
     "$lmtp_dns_reply_filter $lmtp_reply_filter $local_delivery_status_filter "
     "$pipe_delivery_status_filter $postscreen_command_filter "
     "$smtp_delivery_status_filter $smtp_dns_reply_filter $smtp_reply_filter "
     "$smtpd_command_filter $smtpd_dns_reply_filter $virtual_delivery_status_filter "
     "$body_checks $header_checks $lmtp_body_checks $lmtp_header_checks "
     "$lmtp_mime_header_checks $lmtp_nested_header_checks $milter_header_checks "
     "$mime_header_checks $nested_header_checks $smtp_body_checks $smtp_header_checks "
     "$smtp_mime_header_checks $smtp_nested_header_checks $smtpd_reject_filter_maps "
     "$debug_peer_list $smtpd_etrn_restrictions $fast_flush_domains "
     "$authorized_flush_users $lmtp_connection_cache_destinations "
     "$local_header_rewrite_clients $masquerade_exceptions $postscreen_access_list "
     "$postscreen_allowlist_interfaces $postscreen_forbidden_commands "
     "$qmqpd_authorized_clients $authorized_mailq_users "
     "$smtp_connection_cache_destinations $smtpd_log_access_permit_actions "
     "$smtpd_forbidden_commands $smtpd_client_event_limit_exceptions "
     "$smtpd_sasl_exceptions_networks $smtpd_sasl_mechanism_filter "
     "$smtp_requiretls_policy $smtp_sasl_mechanism_filter $authorized_submit_users "
     "$smtpd_authorized_verp_clients $smtpd_authorized_xclient_hosts "
     "$smtpd_authorized_xforward_hosts"},
    {"proxy_write_maps",
     "$smtp_sasl_auth_cache_name $lmtp_sasl_auth_cache_name $address_verify_map "
     "$postscreen_cache_map"},
    {"smtpd_restriction_classes", ""},
};

}  // namespace

std::span<const ParameterDefault> parameter_defaults() { return kDefaults; }

std::vector<std::string_view> default_proxy_write_map_parameters() {
  std::vector<std::string_view> out;
  for (const auto& d : kDefaults) {
    if (d.name != "proxy_write_maps") continue;
    std::string_view rest = d.value;
    while (!rest.empty()) {
      const std::size_t end = std::min(rest.find(' '), rest.size());
      std::string_view word = rest.substr(0, end);
      rest.remove_prefix(std::min(end + 1, rest.size()));
      if (word.starts_with('$')) word.remove_prefix(1);
      if (!word.empty()) out.push_back(word);
    }
  }
  return out;
}

}  // namespace proxyd::dict
