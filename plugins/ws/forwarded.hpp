// The client's real address behind a reverse proxy: X-Forwarded-For and Forwarded (RFC 7239),
// believed only when the socket's peer is a proxy the operator listed in `trusted_proxies`.
// Pure: no I/O, no host.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_request.hpp"

namespace roost_ws {

struct IpAddress {
    int family = 0;  // 4 or 6
    uint8_t bytes[16] = {};
};

// "10.0.0.0/8", "::1", "192.0.2.7" (a single address is a /32 or /128).
struct IpRange {
    IpAddress base;
    unsigned prefix = 0;
    bool contains(const IpAddress& a) const;
};

std::optional<IpAddress> parse_ip(std::string_view text);
std::optional<IpRange> parse_ip_range(std::string_view text);
// The address part of a host-formatted peer ("127.0.0.1:5000", "[::1]:5000").
std::optional<IpAddress> parse_peer(std::string_view peer);

// The client's address from the request's forwarding headers, when `peer` (the socket's peer)
// is in `trusted`: the right-most address in the chain that is not itself a trusted proxy.
// Forwarded wins over X-Forwarded-For when both are present. nullopt when the peer is not
// trusted, when neither header is there, or when the chain holds something that is not an IP
// address ("unknown", an obfuscated name): then the socket's peer stands. The text is the
// address as the host writes it ("203.0.113.7", "[2001:db8::1]").
std::optional<std::string> forwarded_client(const HttpRequest& request, std::string_view peer,
                                            const std::vector<IpRange>& trusted);

}  // namespace roost_ws
