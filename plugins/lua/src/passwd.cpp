#include "passwd.hpp"

#include <openssl/evp.h>

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

}  // namespace

PasswdCheck passwd_verify(std::string_view encoded, std::string_view password) {
    auto parts = split(encoded, '$');
    // "$7$101$salt$hash" splits into "", "7", "101", salt, hash; "$6$salt$hash" into "", "6", salt, hash.
    if (parts.size() == 5 && parts[0].empty() && parts[1] == "7") {
        std::string iterations_text(parts[2]);
        char* end = nullptr;
        long iterations = std::strtol(iterations_text.c_str(), &end, 10);
        auto salt = base64_decode(parts[3]);
        auto hash = base64_decode(parts[4]);
        if (iterations_text.empty() || *end != '\0' || iterations < 1 || iterations > 10000000 || !salt ||
            !hash || hash->empty() || hash->size() > 64)
            return PasswdCheck::bad_format;
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
