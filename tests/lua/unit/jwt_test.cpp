// JWT verification: tokens signed here with OpenSSL directly (HS256, RS256, ES256, ES384), checked
// by jwt_verify: signature, algorithm against key, exp, nbf, aud, iss, malformed input.
#include <doctest/doctest.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <cstdint>
#include <memory>
#include <string>

#include "crypto.hpp"
#include "jwt.hpp"

using namespace roost_lua;

namespace {

const int64_t kNow = 1800000000;

std::string b64(const std::string& s) {
    return base64_encode(s, true);
}

struct KeyPair {
    std::shared_ptr<EVP_PKEY> key;
    std::string public_pem;
};

KeyPair make_key(const char* type, const char* param) {
    EVP_PKEY* k = std::string(type) == "RSA" ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(2048))
                                             : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", param);
    REQUIRE(k != nullptr);
    KeyPair kp{std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free), {}};
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, k);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    kp.public_pem.assign(data, static_cast<size_t>(len));
    BIO_free(bio);
    return kp;
}

std::string sign(const std::string& alg, const std::string& input, const std::string& secret, EVP_PKEY* key) {
    if (alg[0] == 'H') return *hmac(alg == "HS256" ? "sha256" : "sha512", secret, input);
    const EVP_MD* md = alg.substr(2) == "384" ? EVP_sha384() : EVP_sha256();
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, md, nullptr, key);
    size_t len = 0;
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    if (alg[0] != 'E') return sig;
    // DER to JWS's r || s.
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    int half = alg == "ES384" ? 48 : 32;
    std::string raw(size_t(2 * half), '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), half);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + half, half);
    ECDSA_SIG_free(es);
    return raw;
}

std::string token(const std::string& alg, const std::string& claims, const std::string& secret = "",
                  EVP_PKEY* key = nullptr) {
    std::string input = b64("{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}") + "." + b64(claims);
    return input + "." + b64(sign(alg, input, secret, key));
}

JwtOptions at_now() {
    JwtOptions o;
    o.now_s = kNow;
    return o;
}

const std::string kValid = "{\"sub\":\"dev1\",\"exp\":1800000600,\"aud\":[\"roost\",\"x\"],\"iss\":\"me\"}";

}  // namespace

TEST_CASE("HS256: valid, wrong secret, tampered claims") {
    JwtKey key = JwtKey::secret("s3cret");
    auto t = token("HS256", kValid, "s3cret");
    JwtResult r = jwt_verify(t, key, at_now());
    REQUIRE_MESSAGE(r.ok, r.error);
    REQUIRE(r.claims.get("sub"));
    CHECK(r.claims.get("sub")->string == "dev1");
    CHECK(r.header.get("alg")->string == "HS256");
    CHECK(jwt_verify(t, JwtKey::secret("other"), at_now()).error == "bad signature");
    // The same signature over other claims.
    std::string forged = t.substr(0, t.find('.')) + "." + b64("{\"sub\":\"admin\",\"exp\":1800000600}") +
                         t.substr(t.rfind('.'));
    CHECK(jwt_verify(forged, key, at_now()).error == "bad signature");
}

TEST_CASE("RS256 and ES256, ES384: valid; signed by another key: refused") {
    for (auto [alg, type, param] : {std::tuple{"RS256", "RSA", ""}, std::tuple{"ES256", "EC", "P-256"},
                                    std::tuple{"ES384", "EC", "P-384"}}) {
        INFO(alg);
        KeyPair mine = make_key(type, param), other = make_key(type, param);
        std::string error;
        auto key = JwtKey::public_pem(mine.public_pem, &error);
        REQUIRE_MESSAGE(key, error);
        CHECK(jwt_verify(token(alg, kValid, "", mine.key.get()), *key, at_now()).ok);
        CHECK(jwt_verify(token(alg, kValid, "", other.key.get()), *key, at_now()).error == "bad signature");
    }
}

TEST_CASE("the key decides the algorithm: no HS256 with a public key, no none, allow-list") {
    KeyPair rsa = make_key("RSA", "");
    std::string error;
    auto key = JwtKey::public_pem(rsa.public_pem, &error);
    REQUIRE(key);
    // The classic confusion: an HS256 token whose secret is the public key's PEM.
    auto confused = token("HS256", kValid, rsa.public_pem);
    CHECK(jwt_verify(confused, *key, at_now()).error == "algorithm HS256 does not fit the key");
    std::string none = b64("{\"alg\":\"none\"}") + "." + b64(kValid) + ".";
    CHECK_FALSE(jwt_verify(none, JwtKey::secret("s"), at_now()).ok);
    JwtOptions only384 = at_now();
    only384.algorithms = {"HS384"};
    CHECK(jwt_verify(token("HS256", kValid, "s"), JwtKey::secret("s"), only384).error ==
          "algorithm HS256 not allowed");
    CHECK_FALSE(JwtKey::public_pem("not a key", &error));
}

TEST_CASE("exp, nbf, leeway, aud, iss") {
    JwtKey key = JwtKey::secret("k");
    auto check = [&](const std::string& claims, JwtOptions o) {
        return jwt_verify(token("HS256", claims, "k"), key, o);
    };
    CHECK(check("{\"exp\":1799999999}", at_now()).error == "token expired");
    CHECK(check("{\"exp\":1800000000}", at_now()).error == "token expired");
    CHECK(check("{\"exp\":1800000001}", at_now()).ok);
    JwtOptions lenient = at_now();
    lenient.leeway_s = 60;
    CHECK(check("{\"exp\":1799999990}", lenient).ok);
    CHECK(check("{\"sub\":\"x\"}", at_now()).error == "token has no \"exp\"");
    JwtOptions no_exp = at_now();
    no_exp.require_exp = false;
    CHECK(check("{\"sub\":\"x\"}", no_exp).ok);
    CHECK(check("{\"exp\":1800000600,\"nbf\":1800000100}", at_now()).error == "token not valid yet (nbf)");
    CHECK(check("{\"exp\":1800000600,\"nbf\":1799999000}", at_now()).ok);
    JwtOptions aud = at_now();
    aud.audience = "roost";
    CHECK(check(kValid, aud).ok);
    CHECK(check("{\"exp\":1800000600,\"aud\":\"roost\"}", aud).ok);
    CHECK(check("{\"exp\":1800000600,\"aud\":\"other\"}", aud).error == "audience does not match");
    CHECK(check("{\"exp\":1800000600}", aud).error == "audience does not match");
    JwtOptions iss = at_now();
    iss.issuer = "me";
    CHECK(check(kValid, iss).ok);
    iss.issuer = "you";
    CHECK(check(kValid, iss).error == "issuer does not match");
}

TEST_CASE("malformed tokens are refused with a reason") {
    JwtKey key = JwtKey::secret("k");
    CHECK(jwt_verify("", key, at_now()).error.find("not a JWT") == 0);
    CHECK(jwt_verify("a.b", key, at_now()).error.find("not a JWT") == 0);
    CHECK(jwt_verify("a.b.c.d", key, at_now()).error.find("not a JWT") == 0);
    CHECK(jwt_verify("!!.b.c", key, at_now()).error == "a part is not base64url");
    CHECK(jwt_verify(b64("[1]") + "." + b64("{}") + ".", key, at_now()).error ==
          "header is not a JSON object");
    CHECK(jwt_verify(b64("{\"typ\":\"JWT\"}") + "." + b64("{}") + ".", key, at_now()).error ==
          "header has no \"alg\"");
    auto not_object = token("HS256", "[1,2]", "k");
    CHECK(jwt_verify(not_object, key, at_now()).error == "claims are not a JSON object");
}

TEST_CASE("hostile tokens: duplicate members, a leeway that would overflow, deep nesting, size") {
    JwtKey key = JwtKey::secret("k");
    // RFC 7515 4 / RFC 7519 4: a member named twice is refused (the checks read the first, a
    // script's claims table would hold the last).
    CHECK(jwt_verify(token("HS256", "{\"exp\":1799999999,\"exp\":9999999999}", "k"), key, at_now()).error ==
          "claims name a member twice");
    CHECK(
        jwt_verify(token("HS256", "{\"sub\":\"a\",\"exp\":1800000600,\"sub\":\"admin\"}", "k"), key, at_now())
            .error == "claims name a member twice");
    std::string input = b64("{\"alg\":\"HS256\",\"alg\":\"none\"}") + "." + b64(kValid);
    CHECK(jwt_verify(input + "." + b64(*hmac("sha256", "k", input)), key, at_now()).error ==
          "header names a member twice");
    // A leeway of math.maxinteger: computed in double (int64 overflow before: UBSan's report).
    JwtOptions wide = at_now();
    wide.leeway_s = INT64_MAX;
    CHECK(jwt_verify(token("HS256", "{\"exp\":1}", "k"), key, wide).ok);
    CHECK(jwt_verify(token("HS256", "{\"exp\":1800000600,\"nbf\":9e18}", "k"), key, wide).ok);
    // Nesting past the bounds (header 8, claims 32) is refused, not recursed into.
    std::string deep =
        "{\"alg\":\"HS256\",\"x\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
    CHECK(jwt_verify(b64(deep) + "." + b64(kValid) + ".xx", key, at_now()).error ==
          "header is not a JSON object");
    std::string deep_claims =
        "{\"exp\":1800000600,\"x\":" + std::string(40, '[') + std::string(40, ']') + "}";
    CHECK(jwt_verify(token("HS256", deep_claims, "k"), key, at_now()).error ==
          "claims are not a JSON object");
    // A megabyte of token: refused at the signature, quickly.
    std::string big = b64("{\"alg\":\"HS256\"}") + "." + std::string(1 << 20, 'A') + ".xx";
    CHECK(jwt_verify(big, key, at_now()).error == "bad signature");
}
