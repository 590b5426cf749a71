// parse_listen_address: the --listen ADDR:PORT option.
#include <doctest/doctest.h>

#include <string>

#include "config/config.hpp"

using roost::ConfigError;
using roost::parse_listen_address;

TEST_CASE("IPv4 address and port") {
    auto l = parse_listen_address("127.0.0.1:1883");
    CHECK(l.bind == "127.0.0.1");
    CHECK(l.port == 1883);
    CHECK(l.source == "command line");
    CHECK(parse_listen_address("0.0.0.0:65535").port == 65535);
}

TEST_CASE("IPv6 address in brackets") {
    auto l = parse_listen_address("[::1]:8883");
    CHECK(l.bind == "::1");
    CHECK(l.port == 8883);
    CHECK(parse_listen_address("[::]:1").bind == "::");
}

TEST_CASE("a bare port listens on every IPv4 interface") {
    auto l = parse_listen_address("1884");
    CHECK(l.bind == "0.0.0.0");
    CHECK(l.port == 1884);
}

TEST_CASE("bad addresses name the text and the problem") {
    auto error_of = [](const std::string& text) -> std::string {
        try {
            parse_listen_address(text);
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "";
    };
    CHECK(error_of("0.0.0.0:0") ==
          "invalid listen address '0.0.0.0:0': port '0' is not a number from 1 to 65535");
    CHECK(error_of("1883x") == "invalid listen address '1883x': expected ADDR:PORT, [IPv6]:PORT or PORT");
    CHECK(error_of("foo") == "invalid listen address 'foo': expected ADDR:PORT, [IPv6]:PORT or PORT");
    CHECK(error_of("65536") ==
          "invalid listen address '65536': port '65536' is not a number from 1 to 65535");
    CHECK(error_of("99999999999") ==
          "invalid listen address '99999999999': port '99999999999' is not a number from 1 to 65535");
    CHECK(error_of("127.0.0.1:") ==
          "invalid listen address '127.0.0.1:': port '' is not a number from 1 to 65535");
    CHECK(error_of("127.0.0.1:-5").find("port '-5'") != std::string::npos);
    CHECK(error_of("") == "invalid listen address '': expected ADDR:PORT, [IPv6]:PORT or PORT");
    CHECK(error_of("localhost:1883") ==
          "invalid listen address 'localhost:1883': 'localhost' is not an IPv4 address (host names are not "
          "resolved)");
    CHECK(error_of("::1:1883") ==
          "invalid listen address '::1:1883': put IPv6 addresses in brackets, as in [::1]:1883");
    CHECK(error_of("[::1]") == "invalid listen address '[::1]': expected ':PORT' after ']'");
    CHECK(error_of("[::1:1883") == "invalid listen address '[::1:1883': missing ']' after the IPv6 address");
    CHECK(error_of("[1.2.3.4]:1883") ==
          "invalid listen address '[1.2.3.4]:1883': '1.2.3.4' is not an IPv6 address");
    CHECK(error_of(":1883").find("missing address before ':'") != std::string::npos);
    CHECK(error_of("256.0.0.1:1883").find("'256.0.0.1' is not an IPv4 address") != std::string::npos);
}
