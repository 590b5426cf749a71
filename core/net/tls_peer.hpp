// What a TLS connection tells about its peer, as the text plugins read (sdk/include/roost/plugin.h,
// "Attributes the TLS layer sets"): pure functions over OpenSSL objects, no I/O.
#pragma once
#include <openssl/ssl.h>

#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"

namespace roost::net {

// "CN=dev1,O=Acme" (RFC 4514: the most specific RDN first, special characters escaped).
std::string name_rfc4514(const X509_NAME* name);
// The serial number in hex ("1A2B"), or "" when absent.
std::string serial_hex(const X509* cert);
// The subject alternative names, each with its type: "DNS:a.example,IP:10.0.0.7,URI:...,email:...".
std::string subject_alt_names(const X509* cert);

// The connection attributes of an established TLS connection: "tls.version", "tls.cipher" and,
// when the client sent a certificate, "tls.peer.subject", ".issuer", ".san", ".serial".
std::vector<std::pair<std::string, std::string>> tls_attributes(const SSL* ssl);

// The client certificate's field that use_identity_as_username names (its CN, or its first DNS,
// email or URI SAN); "" when there is no certificate or no such field.
std::string tls_identity(const SSL* ssl, TlsIdentity which);

}  // namespace roost::net
