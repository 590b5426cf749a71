#include "forwarded.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace roost_ws {
namespace {
std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool trusted_by(const IpAddress& a, const std::vector<IpRange>& trusted) {
    for (const IpRange& r : trusted)
        if (r.contains(a)) return true;
    return false;
}

std::string format(const IpAddress& a) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(a.family == 4 ? AF_INET : AF_INET6, a.bytes, buf, sizeof buf);
    std::string out;
    if (a.family == 6) out.push_back('[');
    out.append(buf);
    if (a.family == 6) out.push_back(']');
    return out;
}

// One node of a Forwarded "for=" value: "192.0.2.60", "192.0.2.60:47011",
// "[2001:db8:cafe::17]:4711", "unknown", "_hidden".
std::optional<IpAddress> parse_node(std::string_view node) {
    node = trim(node);
    if (node.size() >= 2 && node.front() == '"' && node.back() == '"') node = node.substr(1, node.size() - 2);
    if (!node.empty() && node.front() == '[') {
        size_t close = node.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        return parse_ip(node.substr(1, close - 1));
    }
    size_t colon = node.find(':');
    if (colon != std::string_view::npos && node.find(':', colon + 1) == std::string_view::npos)
        node = node.substr(0, colon);  // IPv4 with a port
    return parse_ip(node);
}

// The "for=" values of a Forwarded header, left to right; nullopt entries for nodes that are not
// addresses.
std::vector<std::optional<IpAddress>> forwarded_for(std::string_view value) {
    std::vector<std::optional<IpAddress>> out;
    while (!value.empty()) {
        size_t comma = value.find(',');
        std::string_view element = value.substr(0, comma);
        bool found = false;
        while (!element.empty()) {
            size_t semi = element.find(';');
            std::string_view pair = trim(element.substr(0, semi));
            if (pair.size() > 4 && iequals(pair.substr(0, 4), "for=")) {
                out.push_back(parse_node(pair.substr(4)));
                found = true;
            }
            if (semi == std::string_view::npos) break;
            element.remove_prefix(semi + 1);
        }
        if (!found) out.push_back(std::nullopt);
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return out;
}

std::vector<std::optional<IpAddress>> x_forwarded_for(std::string_view value) {
    std::vector<std::optional<IpAddress>> out;
    while (!value.empty()) {
        size_t comma = value.find(',');
        out.push_back(parse_node(value.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return out;
}
}  // namespace

bool IpRange::contains(const IpAddress& a) const {
    if (a.family != base.family) return false;
    unsigned full = prefix / 8, rest = prefix % 8;
    if (std::memcmp(a.bytes, base.bytes, full) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (a.bytes[full] & mask) == (base.bytes[full] & mask);
}

std::optional<IpAddress> parse_ip(std::string_view text) {
    std::string s(trim(text));
    IpAddress a;
    if (s.find(':') == std::string::npos) {
        if (inet_pton(AF_INET, s.c_str(), a.bytes) != 1) return std::nullopt;
        a.family = 4;
    } else {
        if (inet_pton(AF_INET6, s.c_str(), a.bytes) != 1) return std::nullopt;
        a.family = 6;
    }
    return a;
}

std::optional<IpRange> parse_ip_range(std::string_view text) {
    text = trim(text);
    size_t slash = text.find('/');
    auto base = parse_ip(text.substr(0, slash));
    if (!base) return std::nullopt;
    IpRange r;
    r.base = *base;
    unsigned max = base->family == 4 ? 32 : 128;
    r.prefix = max;
    if (slash != std::string_view::npos) {
        std::string_view bits = text.substr(slash + 1);
        if (bits.empty() || bits.size() > 3) return std::nullopt;
        unsigned n = 0;
        for (char c : bits) {
            if (c < '0' || c > '9') return std::nullopt;
            n = n * 10 + static_cast<unsigned>(c - '0');
        }
        if (n > max) return std::nullopt;
        r.prefix = n;
    }
    return r;
}

std::optional<IpAddress> parse_peer(std::string_view peer) {
    return parse_node(peer);
}

std::optional<std::string> forwarded_client(const HttpRequest& request, std::string_view peer,
                                            const std::vector<IpRange>& trusted) {
    auto peer_ip = parse_peer(peer);
    if (!peer_ip || !trusted_by(*peer_ip, trusted)) return std::nullopt;
    std::vector<std::optional<IpAddress>> chain;
    if (request.header("forwarded"))
        chain = forwarded_for(request.joined("forwarded"));
    else if (request.header("x-forwarded-for"))
        chain = x_forwarded_for(request.joined("x-forwarded-for"));
    else
        return std::nullopt;
    // From the right (the proxy nearest to us) leftwards, past the proxies we trust.
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        if (!*it) return std::nullopt;
        if (!trusted_by(**it, trusted) || std::next(it) == chain.rend()) return format(**it);
    }
    return std::nullopt;
}

}  // namespace roost_ws
