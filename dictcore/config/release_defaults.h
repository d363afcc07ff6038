// main.cf defaults that differ between the Postfix releases proxyd follows
// (proxyd.cf "postfix_version"): today only proxy_read_maps, whose default
// list of allowlisted parameters grew in 3.6.4, 3.6.6/3.7.1, 3.7.0 and
// 3.11.0 (src/global/mail_params.h, DEF_PROXY_READ_MAPS, of each release).
// proxy_write_maps has the same default in every release from 3.6 on.
#pragma once

#include <string>

#include "dictcore/util/postfix_version.h"

namespace proxyd::dict {

// DEF_PROXY_READ_MAPS of that release: "$name" references separated by
// single spaces, in Postfix's order.
std::string default_proxy_read_maps(PostfixVersion release);

}  // namespace proxyd::dict
