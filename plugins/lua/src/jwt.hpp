// JWT (RFC 7519) verification for roost.jwt_verify: HS256/384/512 with a shared secret, RS256/384/512
// with an RSA public key, ES256/ES384 with an EC public key (P-256/P-384), through OpenSSL 3.
// Checks the signature first, then exp, nbf, aud and iss. Pure: safe on any thread; a JwtKey is
// immutable once made and may be shared.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace roost_lua {

class JwtKey {
  public:
    // An HMAC secret: accepts the HS algorithms only.
    static JwtKey secret(std::string bytes);
    // A PEM public key ("BEGIN PUBLIC KEY") or certificate: RSA keys accept RS*, EC keys ES*.
    // nullopt with *error when the text holds neither.
    static std::optional<JwtKey> public_pem(std::string_view pem, std::string* error);

    bool is_secret() const { return !_pkey; }
    // Whether this key can verify `alg` ("HS256", "RS256", "ES256", ...).
    bool accepts(std::string_view alg) const;

  private:
    friend struct JwtVerifier;
    std::string _secret;
    std::shared_ptr<EVP_PKEY> _pkey;
    int _ec_bits = 0;  // 256 or 384 for EC keys
};

struct JwtOptions {
    std::vector<std::string> algorithms;  // allowed "alg" values; empty: every one the key accepts
    std::string audience;                 // when set, "aud" (string or array) must contain it
    std::string issuer;                   // when set, "iss" must equal it
    int64_t leeway_s = 0;                 // clock skew allowed for exp and nbf
    bool require_exp = true;              // a token without "exp" is refused
    int64_t now_s = 0;                    // seconds since the epoch; 0: the current time
};

struct JwtResult {
    bool ok = false;
    std::string error;  // why not, e.g. "token expired", "bad signature"
    json::Value header, claims;
};

JwtResult jwt_verify(std::string_view token, const JwtKey& key, const JwtOptions& options);

}  // namespace roost_lua
