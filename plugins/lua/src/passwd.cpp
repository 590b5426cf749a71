#include "passwd.hpp"

#include <openssl/evp.h>

#include <climits>
#include <cstdlib>
#include <memory>

#include "crypto.hpp"

namespace roost_lua {
namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (true) {
        size_t at = s.find(sep, start);
        parts.push_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
        if (at == std::string_view::npos) return parts;
        start = at + 1;
    }
}

// The iteration count of "$7$<count>$...": digits only; 0 when it is not one (or absurdly long).
long iterations_of(std::string_view text) {
    if (text.empty() || text.size() > 12) return 0;
    long n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return 0;
        n = n * 10 + (c - '0');
    }
    return n;
}

}  // namespace

long passwd_iterations(std::string_view encoded) {
    auto parts = split(encoded, '$');
    if (parts.size() == 5 && parts[0].empty() && parts[1] == "7") return iterations_of(parts[2]);
    return 0;
}

PasswdCheck passwd_verify(std::string_view encoded, std::string_view password) {
    auto parts = split(encoded, '$');
    // "$7$101$salt$hash" splits into "", "7", "101", salt, hash; "$6$salt$hash" into "", "6", salt, hash.
    if (parts.size() == 5 && parts[0].empty() && parts[1] == "7") {
        const long iterations = iterations_of(parts[2]);
        auto salt = base64_decode(parts[3]);
        auto hash = base64_decode(parts[4]);
        if (iterations < 1 || !salt || !hash || hash->empty() || hash->size() > 64)
            return PasswdCheck::bad_format;
        if (iterations > kMaxPbkdf2Iterations) return PasswdCheck::too_costly;
        // The password's length goes to OpenSSL as an int: a longer one cannot be this password.
        if (password.size() > INT_MAX) return PasswdCheck::mismatch;
        unsigned char out[64];
        if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                              reinterpret_cast<const unsigned char*>(salt->data()),
                              static_cast<int>(salt->size()), static_cast<int>(iterations), EVP_sha512(),
                              static_cast<int>(hash->size()), out) != 1)
            return PasswdCheck::bad_format;
        return constant_time_equal(std::string_view(reinterpret_cast<char*>(out), hash->size()), *hash)
                   ? PasswdCheck::match
                   : PasswdCheck::mismatch;
    }
    if (parts.size() == 4 && parts[0].empty() && parts[1] == "6") {
        auto salt = base64_decode(parts[2]);
        auto hash = base64_decode(parts[3]);
        if (!salt || !hash || hash->size() != 64) return PasswdCheck::bad_format;
        unsigned char out[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
        EVP_DigestInit_ex(ctx.get(), EVP_sha512(), nullptr);
        EVP_DigestUpdate(ctx.get(), password.data(), password.size());
        EVP_DigestUpdate(ctx.get(), salt->data(), salt->size());
        EVP_DigestFinal_ex(ctx.get(), out, &len);
        return constant_time_equal(std::string_view(reinterpret_cast<char*>(out), len), *hash)
                   ? PasswdCheck::match
                   : PasswdCheck::mismatch;
    }
    return PasswdCheck::bad_format;
}

std::vector<PasswdEntry> passwd_parse(std::string_view text, std::vector<int>* bad_lines) {
    std::vector<PasswdEntry> entries;
    int number = 0;
    for (std::string_view line : split(text, '\n')) {
        ++number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            if (bad_lines) bad_lines->push_back(number);
            continue;
        }
        entries.push_back({std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
    }
    return entries;
}

}  // namespace roost_lua
