#include "config/config_schema.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <vector>

namespace roost::config_schema {
namespace {

using namespace std::string_view_literals;

constexpr std::array kBrokerKeys = {
    "allow_anonymous"sv,
    "retain_available"sv,
    "wildcard_subscriptions"sv,
    "shared_subscriptions"sv,
    "subscription_identifiers"sv,
    "maximum_qos"sv,
    "sys_interval"sv,
    "workers"sv,
    "plugin_timeout_ms"sv,
    "allow_control_characters"sv,
    "persist_delay_ms"sv,
};

constexpr std::array kLimitsKeys = {
    "max_packet_size"sv,
    "max_connect_packet_size"sv,
    "max_connections"sv,
    "max_pending_connects"sv,
    "max_connections_per_address"sv,
    "max_inflight"sv,
    "max_queued_messages"sv,
    "max_queued_bytes"sv,
    "queue_full_policy"sv,
    "offline_queue_policy"sv,
    "backpressure_timeout"sv,
    "max_client_id_length"sv,
    "max_keep_alive"sv,
    "topic_alias_maximum"sv,
    "max_topic_alias_out"sv,
    "max_session_expiry"sv,
    "max_sessions"sv,
    "max_message_expiry"sv,
    "max_subscriptions_per_client"sv,
    "max_topic_levels"sv,
    "max_user_properties"sv,
    "max_output_buffer"sv,
    "max_total_output_buffer"sv,
    "send_timeout"sv,
    "max_retained_messages"sv,
    "max_retained_payload"sv,
    "connect_timeout"sv,
};

constexpr std::array kLogKeys = {"level"sv, "file"sv};

constexpr std::array kListenerKeys = {
    "bind"sv,
    "port"sv,
    "transport"sv,
    "auth_default"sv,
    "acl_default"sv,
    // TLS (issue 9): on when tls_cert_file is set.
    "tls_cert_file"sv,
    "tls_key_file"sv,
    "tls_ca_file"sv,
    "tls_ca_dir"sv,
    "tls_min_version"sv,
    "tls_ciphers"sv,
    "tls_ciphersuites"sv,
    "require_client_cert"sv,
    "use_identity_as_username"sv,
    "tls_handshake_timeout"sv,
};

constexpr std::array kPluginKeys = {"name"sv, "path"sv, "options"sv};

const std::array kSections = {
    Section{"broker", false, kBrokerKeys}, Section{"limits", false, kLimitsKeys},
    Section{"log", false, kLogKeys},       Section{"listener", true, kListenerKeys},
    Section{"plugin", true, kPluginKeys},
};

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

}  // namespace

std::span<const Section> sections() {
    return kSections;
}

const Section* find_section(std::string_view name) {
    for (const Section& s : kSections) {
        if (s.name == name) return &s;
    }
    return nullptr;
}

std::string header(const Section& section) {
    std::string name(section.name);
    return section.array ? "[[" + name + "]]" : "[" + name + "]";
}

size_t edit_distance(std::string_view a, std::string_view b) {
    // Optimal string alignment: insertions, deletions, substitutions and adjacent transpositions
    // ("prot" -> "port") each cost one.
    const size_t width = b.size() + 1;
    std::vector<size_t> d((a.size() + 1) * width);
    auto at = [&](size_t i, size_t j) -> size_t& { return d[i * width + j]; };
    for (size_t i = 0; i <= a.size(); ++i)
        at(i, 0) = i;
    for (size_t j = 0; j <= b.size(); ++j)
        at(0, j) = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
            at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1])) {
                at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
            }
        }
    }
    return at(a.size(), b.size());
}

std::string_view closest(std::string_view word, std::span<const std::string_view> candidates) {
    // Short words tolerate fewer edits, so "file" does not suggest "bind".
    const size_t limit = word.size() <= 4 ? 1 : word.size() <= 8 ? 2 : 3;
    std::string_view best;
    size_t best_distance = limit + 1;
    for (std::string_view c : candidates) {
        size_t d = edit_distance(word, c);
        if (d < best_distance) {
            best = c;
            best_distance = d;
        }
    }
    if (!best.empty() || word.size() < 3) return best;
    // An abbreviation: "warn" for "warning", "max_conn" for "max_connections".
    for (std::string_view c : candidates) {
        if (c.size() > word.size() && edit_distance(word, c.substr(0, word.size())) == 0) return c;
    }
    return best;
}

}  // namespace roost::config_schema
