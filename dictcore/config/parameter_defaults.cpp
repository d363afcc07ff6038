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
    // proxy_read_maps: release_defaults.cpp (it differs between releases).
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
