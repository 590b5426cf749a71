// Mosquitto password files (mosquitto_passwd): "user:$7$iterations$salt$hash" (PBKDF2-HMAC-SHA512,
// 64-byte hash) and "user:$6$salt$hash" (SHA-512 of password then salt), salt and hash base64.
// Pure functions, safe on any thread.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roost_lua {

enum class PasswdCheck { match, mismatch, bad_format };

// Checks `password` against one encoded hash (the part after "user:"), in constant time for a
// well-formed hash.
PasswdCheck passwd_verify(std::string_view encoded, std::string_view password);

struct PasswdEntry {
    std::string user, hash;
};
// The "user:hash" lines of a password file (blank lines and lines starting with '#' skipped).
// A line without ':' is reported in *bad_lines (1-based numbers) and skipped.
std::vector<PasswdEntry> passwd_parse(std::string_view text, std::vector<int>* bad_lines = nullptr);

}  // namespace roost_lua
