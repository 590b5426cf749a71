// The tls_* keys of [[listener]]: values, defaults, paths made absolute, and the error for each
// mistake (file:line, did-you-mean, keys that need another).
#include <doctest/doctest.h>

#include <string>

#include "config/config.hpp"

using roost::ConfigError;
using roost::parse_config;
using roost::TlsIdentity;

namespace {

std::string error_of(const std::string& text) {
    try {
        parse_config(text, "/etc/roost/roost.toml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("a TLS listener with every key") {
    auto c = parse_config(R"([[listener]]
port = 8883
tls_cert_file = "certs/server.crt"
tls_key_file = "/keys/server.key"
tls_ca_file = "ca.crt"
tls_ca_dir = "cas"
tls_min_version = "1.3"
tls_ciphers = "ECDHE+AESGCM"
tls_ciphersuites = "TLS_AES_128_GCM_SHA256"
require_client_cert = true
use_identity_as_username = "san"
tls_handshake_timeout = 3
)",
                          "/etc/roost/roost.toml");
    const roost::TlsConfig& t = c.listeners.at(0).tls;
    CHECK(t.enabled());
    CHECK(t.cert_file == "/etc/roost/certs/server.crt");  // relative to the file's folder
    CHECK(t.key_file == "/keys/server.key");
    CHECK(t.ca_file == "/etc/roost/ca.crt");
    CHECK(t.ca_dir == "/etc/roost/cas");
    CHECK(t.min_version == 0x0304);
    CHECK(t.ciphers == "ECDHE+AESGCM");
    CHECK(t.ciphersuites == "TLS_AES_128_GCM_SHA256");
    CHECK(t.require_client_cert);
    CHECK(t.identity_as_username == TlsIdentity::SubjectAltName);
    CHECK(t.handshake_timeout == 3);
}

TEST_CASE("TLS is off by default, with TLS 1.2 as the floor and a 10 s handshake") {
    auto c = parse_config("[[listener]]\nport = 1883\n", "roost.toml");
    const roost::TlsConfig& t = c.listeners.at(0).tls;
    CHECK_FALSE(t.enabled());
    CHECK(t.min_version == 0x0303);
    CHECK(t.handshake_timeout == 10);
    CHECK(t.identity_as_username == TlsIdentity::None);
    auto cn = parse_config(
        "[[listener]]\ntls_cert_file = \"a\"\ntls_key_file = \"b\"\ntls_ca_file = \"c\"\n"
        "require_client_cert = true\nuse_identity_as_username = false\n",
        "roost.toml");
    CHECK(cn.listeners.at(0).tls.identity_as_username == TlsIdentity::None);
}

TEST_CASE("TLS mistakes name the line and the fix") {
    CHECK(error_of("[[listener]]\ntls_key_file = \"k\"\n") ==
          "/etc/roost/roost.toml:2:16: 'tls_key_file' in [[listener]] needs tls_cert_file (and tls_key_file) "
          "in "
          "the same [[listener]]: without them the listener has no TLS");
    CHECK(error_of("[[listener]]\ntls_cert_file = \"c\"\n") ==
          "/etc/roost/roost.toml:2:17: 'tls_cert_file' in [[listener]] needs tls_key_file, the certificate's "
          "private key");
    CHECK(
        error_of("[[listener]]\ntls_cert_file = \"c\"\ntls_key_file = \"k\"\nrequire_client_cert = true\n") ==
        "/etc/roost/roost.toml:4:23: 'require_client_cert' in [[listener]] needs tls_ca_file or tls_ca_dir: "
        "the "
        "CA that signs the client certificates");
    CHECK(
        error_of("[[listener]]\ntls_cert_file = \"c\"\ntls_key_file = \"k\"\nuse_identity_as_username = "
                 "\"cn\"\n") ==
        "/etc/roost/roost.toml:4:28: 'use_identity_as_username' in [[listener]] needs require_client_cert = "
        "true: only a verified certificate can name the user");
    CHECK(
        error_of("[[listener]]\ntls_cert_file = \"c\"\ntls_key_file = \"k\"\ntls_min_version = \"1.1\"\n") ==
        "/etc/roost/roost.toml:4:19: 'tls_min_version' in [[listener]] must be \"1.2\" or \"1.3\", got "
        "\"1.1\" "
        "(did you mean \"1.2\"?)");
    CHECK(error_of("[[listener]]\ntls_cert_file = \"c\"\ntls_key_file = \"k\"\nuse_identity_as_username = "
                   "\"CN\"\n") ==
          "/etc/roost/roost.toml:4:28: 'use_identity_as_username' in [[listener]] must be \"cn\", \"san\" or "
          "\"none\", got \"CN\" (did you mean \"cn\"?)");
    CHECK(error_of("[[listener]]\ntls_cert_file = \"\"\n")
              .find("'tls_cert_file' in [[listener]] must not be empty") != std::string::npos);
    CHECK(
        error_of("[[listener]]\ntls_cert = \"c\"\n") ==
        "/etc/roost/roost.toml:2:1: unknown key 'tls_cert' in [[listener]] (did you mean 'tls_cert_file'?)");
    CHECK(
        error_of("[[listener]]\ntls_cert_file = \"c\"\ntls_key_file = \"k\"\ntls_handshake_timeout = 0\n") ==
        "/etc/roost/roost.toml:4:25: 'tls_handshake_timeout' in [[listener]] must be an integer from 1 to "
        "3600, "
        "got 0");
}
