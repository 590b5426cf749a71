// Hashing and encoding helpers behind roost.sha256, roost.hmac, roost.base64_* and
// roost.constant_time_equal, on OpenSSL 3. Pure functions, safe on any thread.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace roost_lua {

std::string sha256(std::string_view data);  // 32 raw bytes
// HMAC with "sha256", "sha384" or "sha512" (raw bytes); nullopt for another digest name.
std::optional<std::string> hmac(std::string_view digest, std::string_view key, std::string_view data);
std::string to_hex(std::string_view raw);  // lower case
// Standard alphabet with padding, or base64url without padding (RFC 4648 section 5).
std::string base64_encode(std::string_view data, bool url = false);
// Accepts input with or without padding; nullopt for a character outside the alphabet.
std::optional<std::string> base64_decode(std::string_view text, bool url = false);
// Compares in time that depends only on the lengths, never on where the bytes differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace roost_lua
