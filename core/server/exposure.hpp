// Who can reach the broker, said at start: an info line when every listener is on loopback, a
// warning when clients from the network get in without any check.
#pragma once
#include "config/config.hpp"

namespace roost {

// `auth_plugin_loaded`: a loaded plugin has an authentication hook (known only after the plugins
// loaded: a ws or sqlite plugin alone checks nobody).
void warn_about_exposure(const Config& config, bool auth_plugin_loaded);

}  // namespace roost
