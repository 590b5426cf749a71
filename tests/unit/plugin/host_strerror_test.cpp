// host->strerror: each ROOST_E* code has a name, and EGONE's says it also means "absent", since
// client_info and client_attribute answer it for a fact a live client does not have.
#include <doctest/doctest.h>

#include <string>

#include "plugin/plugin_host.hpp"
#include "roost/plugin.h"

using namespace roost;

TEST_CASE("host strerror names every code; EGONE covers a fact the client lacks") {
    const roost_host* host = PluginHost::host_table();
    CHECK(std::string(host->strerror(ROOST_OK)) == "ok");
    CHECK(std::string(host->strerror(ROOST_EINVAL)) == "invalid argument");
    CHECK(std::string(host->strerror(ROOST_ENOMEM)) == "out of memory");
    CHECK(std::string(host->strerror(ROOST_ENOTSUP)) == "not supported");
    CHECK(std::string(host->strerror(-99)) == "unknown error");
    std::string gone = host->strerror(ROOST_EGONE);
    CHECK(gone.rfind("gone or absent", 0) == 0);
    CHECK(gone.find("no such attribute") != std::string::npos);
}
