#include "jwt.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <ctime>
#include <set>

#include "crypto.hpp"

namespace roost_lua {

JwtKey JwtKey::secret(std::string bytes) {
    JwtKey k;
    k._secret = std::move(bytes);
    return k;
}

std::optional<JwtKey> JwtKey::public_pem(std::string_view pem, std::string* error) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())),
                                                  BIO_free);
    EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    if (raw == nullptr) {
        std::unique_ptr<BIO, decltype(&BIO_free)> again(
            BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
        if (X509* cert = PEM_read_bio_X509(again.get(), nullptr, nullptr, nullptr)) {
            raw = X509_get_pubkey(cert);
            X509_free(cert);
        }
    }
    if (raw == nullptr) {
        if (error) *error = "no PEM public key or certificate found";
        return std::nullopt;
    }
    JwtKey k;
    k._pkey.reset(raw, EVP_PKEY_free);
    if (EVP_PKEY_is_a(raw, "EC")) {
        k._ec_bits = EVP_PKEY_get_bits(raw);
    } else if (!EVP_PKEY_is_a(raw, "RSA")) {
        if (error) *error = "the key is neither RSA nor EC";
        return std::nullopt;
    }
    return k;
}

bool JwtKey::accepts(std::string_view alg) const {
    if (!_pkey) return alg == "HS256" || alg == "HS384" || alg == "HS512";
    if (_ec_bits == 0) return alg == "RS256" || alg == "RS384" || alg == "RS512";
    return (alg == "ES256" && _ec_bits == 256) || (alg == "ES384" && _ec_bits == 384);
}

namespace {

const EVP_MD* digest_of(std::string_view alg) {
    std::string_view bits = alg.substr(2);
    if (bits == "256") return EVP_sha256();
    if (bits == "384") return EVP_sha384();
    if (bits == "512") return EVP_sha512();
    return nullptr;
}

// JWS ECDSA signatures are r || s, each the curve's size (RFC 7518 3.4); OpenSSL verifies DER.
std::optional<std::string> ecdsa_raw_to_der(std::string_view raw, int bits) {
    size_t half = static_cast<size_t>((bits + 7) / 8);
    if (raw.size() != 2 * half) return std::nullopt;
    ECDSA_SIG* sig = ECDSA_SIG_new();
    BIGNUM* r =
        BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(half), nullptr);
    BIGNUM* s =
        BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + half), static_cast<int>(half), nullptr);
    ECDSA_SIG_set0(sig, r, s);
    unsigned char* der = nullptr;
    int len = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    if (len <= 0) return std::nullopt;
    std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
    return out;
}

bool has_audience(const json::Value& aud, const std::string& wanted) {
    if (aud.type == json::Value::Type::string) return aud.string == wanted;
    if (aud.type != json::Value::Type::array) return false;
    return std::any_of(aud.array.begin(), aud.array.end(), [&](const json::Value& v) {
        return v.type == json::Value::Type::string && v.string == wanted;
    });
}

// RFC 7515 section 4 and RFC 7519 section 4: a JWT whose header or claims name a member twice is
// refused. Parsers disagree on which duplicate wins (ours: the first for the checks; the claims
// table a script gets: the last), so an "exp" or "sub" could mean one thing here and another to
// the script.
bool has_duplicate_member(const json::Value& object) {
    std::set<std::string_view> names;
    for (const auto& member : object.object)
        if (!names.insert(member.first).second) return true;
    return false;
}

// `now` moved by `leeway` seconds, in double: a script's leeway of math.maxinteger must not
// overflow (undefined behaviour in int64).
double shifted(int64_t now, int64_t leeway, int sign) {
    return static_cast<double>(now) + sign * static_cast<double>(leeway);
}

JwtResult refuse(std::string why) {
    JwtResult r;
    r.error = std::move(why);
    return r;
}

}  // namespace

struct JwtVerifier {
    static bool signature(const JwtKey& key, std::string_view alg, std::string_view signed_part,
                          std::string_view sig) {
        const EVP_MD* md = digest_of(alg);
        if (md == nullptr) return false;
        if (key.is_secret()) {
            auto mac = hmac(alg == "HS256"   ? "sha256"
                            : alg == "HS384" ? "sha384"
                                             : "sha512",
                            key._secret, signed_part);
            return mac && constant_time_equal(*mac, sig);
        }
        std::string der;
        if (key._ec_bits != 0) {
            auto converted = ecdsa_raw_to_der(sig, key._ec_bits);
            if (!converted) return false;
            der = std::move(*converted);
            sig = der;
        }
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
        if (EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key._pkey.get()) != 1) return false;
        return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                                reinterpret_cast<const unsigned char*>(signed_part.data()),
                                signed_part.size()) == 1;
    }
};

JwtResult jwt_verify(std::string_view token, const JwtKey& key, const JwtOptions& options) {
    size_t dot1 = token.find('.');
    size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return refuse("not a JWT (three base64url parts separated by '.')");
    auto header_text = base64_decode(token.substr(0, dot1), true);
    auto claims_text = base64_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), true);
    auto sig = base64_decode(token.substr(dot2 + 1), true);
    if (!header_text || !claims_text || !sig) return refuse("a part is not base64url");

    JwtResult r;
    std::string error;
    auto header = json::parse(*header_text, &error, 8);
    if (!header || header->type != json::Value::Type::object) return refuse("header is not a JSON object");
    if (has_duplicate_member(*header)) return refuse("header names a member twice");
    const json::Value* alg = header->get("alg");
    if (alg == nullptr || alg->type != json::Value::Type::string) return refuse("header has no \"alg\"");
    // The key decides the family: an HS token is never checked against a public key (the
    // algorithm-confusion attack), and "none" is never accepted.
    if (!key.accepts(alg->string)) return refuse("algorithm " + alg->string + " does not fit the key");
    if (!options.algorithms.empty() && std::find(options.algorithms.begin(), options.algorithms.end(),
                                                 alg->string) == options.algorithms.end())
        return refuse("algorithm " + alg->string + " not allowed");
    if (!JwtVerifier::signature(key, alg->string, token.substr(0, dot2), *sig))
        return refuse("bad signature");

    auto claims = json::parse(*claims_text, &error, 32);
    if (!claims || claims->type != json::Value::Type::object) return refuse("claims are not a JSON object");
    if (has_duplicate_member(*claims)) return refuse("claims name a member twice");
    int64_t now = options.now_s != 0 ? options.now_s : static_cast<int64_t>(std::time(nullptr));
    const json::Value* exp = claims->get("exp");
    if (exp != nullptr) {
        if (exp->type != json::Value::Type::number) return refuse("\"exp\" is not a number");
        if (shifted(now, options.leeway_s, -1) >= exp->number) return refuse("token expired");
    } else if (options.require_exp) {
        return refuse("token has no \"exp\"");
    }
    if (const json::Value* nbf = claims->get("nbf")) {
        if (nbf->type != json::Value::Type::number) return refuse("\"nbf\" is not a number");
        if (shifted(now, options.leeway_s, 1) < nbf->number) return refuse("token not valid yet (nbf)");
    }
    if (!options.audience.empty()) {
        const json::Value* aud = claims->get("aud");
        if (aud == nullptr || !has_audience(*aud, options.audience)) return refuse("audience does not match");
    }
    if (!options.issuer.empty()) {
        const json::Value* iss = claims->get("iss");
        if (iss == nullptr || iss->type != json::Value::Type::string || iss->string != options.issuer)
            return refuse("issuer does not match");
    }
    r.ok = true;
    r.header = std::move(*header);
    r.claims = std::move(*claims);
    return r;
}

}  // namespace roost_lua
