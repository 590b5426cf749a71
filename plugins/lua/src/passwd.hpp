// Mosquitto password files (mosquitto_passwd): "user:$7$iterations$salt$hash" (PBKDF2-HMAC-SHA512,
// 64-byte hash) and "user:$6$salt$hash" (SHA-512 of password then salt), salt and hash base64.
// Pure functions, safe on any thread.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roost_lua {

enum class PasswdCheck { match, mismatch, bad_format, too_costly };

// The most PBKDF2 iterations a $7$ hash may ask for. A check runs on the client's worker and
// holds every client of that worker while it hashes: about 0.55 us per iteration here, so 0.55 s
// at this bound (mosquitto_passwd's default is 101; OWASP's 2023 advice for PBKDF2-HMAC-SHA512 is
// 210,000). The old bound, 10,000,000, let one CONNECT stall a worker for 5-10 s.
constexpr long kMaxPbkdf2Iterations = 1'000'000;

// Checks `password` against one encoded hash (the part after "user:"), in constant time for a
// well-formed hash. A $7$ hash over kMaxPbkdf2Iterations is too_costly (and is not computed).
PasswdCheck passwd_verify(std::string_view encoded, std::string_view password);

// The iteration count of a $7$ hash; 0 for any other text.
long passwd_iterations(std::string_view encoded);

struct PasswdEntry {
    std::string user, hash;
};
// The "user:hash" lines of a password file (blank lines and lines starting with '#' skipped).
// A line without ':' is reported in *bad_lines (1-based numbers) and skipped.
std::vector<PasswdEntry> passwd_parse(std::string_view text, std::vector<int>* bad_lines = nullptr);

}  // namespace roost_lua
