// Reads roost.toml into a Config. Every problem in the file is collected (not just the first), sorted
// by position and thrown as one ConfigError, one "file:line:column: message" line each, so a user
// fixes a file in one pass.
#include "config/config.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <tuple>
#include <utility>

#include "config/config_schema.hpp"

namespace roost {
namespace {

using config_schema::Section;

constexpr uint32_t kMqttMaxPacketSize = 268435460;  // 4-byte Remaining Length maximum + fixed header
constexpr int64_t kMinPacketSize = 64;              // below this even a CONNECT hardly fits
constexpr int64_t kMaxWorkers = 256;                // PENDING call ids carry the worker in 8 bits
constexpr int64_t kMaxPluginTimeoutMs = 600000;     // ten minutes
// A second: past that, a subscriber that stopped acknowledging holds its publishers too long.
constexpr int64_t kMaxPersistDelayMs = 1000;
constexpr size_t kMaxReportedErrors = 20;

std::string_view type_name(toml::node_type type) {
    switch (type) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a floating-point number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

bool is_ipv4(const std::string& text) {
    in_addr addr{};
    return inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

bool is_ipv6(const std::string& text) {
    in6_addr addr{};
    return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

// Why `bind` is not a usable address, or empty when it is.
std::string check_bind_address(const std::string& bind) {
    if (bind.empty())
        return "must not be empty (use \"0.0.0.0\" for every IPv4 interface or \"::\" for IPv6)";
    if (is_ipv4(bind) || is_ipv6(bind)) return {};
    if (bind.size() > 2 && bind.front() == '[' && bind.back() == ']' &&
        is_ipv6(bind.substr(1, bind.size() - 2))) {
        return fmt::format("is \"{}\": write the IPv6 address without brackets (\"{}\")", bind,
                           bind.substr(1, bind.size() - 2));
    }
    return fmt::format("is \"{}\", which is not an IPv4 or IPv6 address (host names are not resolved)", bind);
}

// For a quoted number or boolean ("1883", "false"), the fix: the same value without quotes. TOML
// reads a quoted value as a string, and the message alone ("not a string") leaves users puzzled.
std::string unquote_hint(const toml::node& node, std::string_view key) {
    auto text = node.value_exact<std::string>();
    if (!text) return {};
    std::string_view v = *text;
    bool is_bool = v == "true" || v == "false";
    bool is_int = false;
    if (!is_bool && !v.empty()) {
        int64_t n = 0;
        std::string_view digits = v.front() == '+' ? v.substr(1) : v;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        is_int = !digits.empty() && ec == std::errc() && end == digits.data() + digits.size();
    }
    if (!is_bool && !is_int) return {};
    return fmt::format(" (write {} = {}, without quotes)", key, v);
}

struct Problem {
    uint32_t line;
    uint32_t column;
    std::string text;  // with the "file:line:column: " prefix
};

class Reader {
  public:
    explicit Reader(std::string file) : _file(std::move(file)) {}

    const std::string& file() const { return _file; }

    void error(const toml::source_region& where, std::string message) {
        const auto& pos = where.begin;
        std::string prefix = pos.line == 0 ? fmt::format("{}: ", _file)
                                           : fmt::format("{}:{}:{}: ", _file, pos.line, pos.column);
        _problems.push_back({pos.line, pos.column, prefix + message});
    }

    // Throws ConfigError listing every problem, earliest in the file first, if there are any.
    void throw_if_failed() {
        if (_problems.empty()) return;
        std::stable_sort(_problems.begin(), _problems.end(), [](const Problem& a, const Problem& b) {
            return std::tie(a.line, a.column) < std::tie(b.line, b.column);
        });
        std::string text;
        for (size_t i = 0; i < _problems.size() && i < kMaxReportedErrors; ++i) {
            if (i > 0) text += '\n';
            text += _problems[i].text;
        }
        if (_problems.size() > kMaxReportedErrors) {
            text +=
                fmt::format("\n{}: {} more errors not shown", _file, _problems.size() - kMaxReportedErrors);
        }
        throw ConfigError(text);
    }

  private:
    std::string _file;
    std::vector<Problem> _problems;
};

// Reads the keys of one table ([broker], one [[listener]], ...) into typed fields.
class TableReader {
  public:
    TableReader(Reader& reader, const toml::table& table, const Section& section)
        : _reader(reader), _table(table), _section(section), _header(config_schema::header(section)) {
        check_unknown_keys();
    }

    void boolean(std::string_view key, bool& out) {
        const toml::node* node = _table.get(key);
        if (!node) return;
        if (auto v = node->value_exact<bool>()) {
            out = *v;
        } else {
            fail(*node, key,
                 fmt::format("must be true or false, not {}{}", type_name(node->type()),
                             unquote_hint(*node, key)));
        }
    }

    template <typename T>
    void integer(std::string_view key, T& out, int64_t min = 0,
                 int64_t max = static_cast<int64_t>(std::numeric_limits<T>::max())) {
        const toml::node* node = _table.get(key);
        if (!node) return;
        auto v = node->value_exact<int64_t>();
        if (!v) {
            fail(*node, key,
                 fmt::format("must be an integer from {} to {}, not {}{}", min, max, type_name(node->type()),
                             unquote_hint(*node, key)));
        } else if (*v < min || *v > max) {
            fail(*node, key, fmt::format("must be an integer from {} to {}, got {}", min, max, *v));
        } else {
            out = static_cast<T>(*v);
        }
    }

    void string(std::string_view key, std::string& out) {
        const toml::node* node = _table.get(key);
        if (!node) return;
        if (auto v = node->value_exact<std::string>()) {
            out = *v;
        } else {
            fail(*node, key, fmt::format("must be a string, not {}", type_name(node->type())));
        }
    }

    // One of a fixed set of strings, each mapped to a value.
    template <typename T, size_t N>
    void choice(std::string_view key, T& out, const std::array<std::pair<std::string_view, T>, N>& options) {
        const toml::node* node = _table.get(key);
        if (!node) return;
        std::string allowed;
        std::array<std::string_view, N> names;
        for (size_t i = 0; i < N; ++i) {
            names[i] = options[i].first;
            allowed += fmt::format("{}\"{}\"", i == 0 ? "" : i + 1 == N ? " or " : ", ", names[i]);
        }
        auto v = node->value_exact<std::string>();
        if (!v) {
            fail(*node, key, fmt::format("must be {}, not {}", allowed, type_name(node->type())));
            return;
        }
        for (const auto& [name, value] : options) {
            if (name == *v) {
                out = value;
                return;
            }
        }
        std::string message = fmt::format("must be {}, got \"{}\"", allowed, *v);
        if (auto hint = config_schema::closest(*v, names); !hint.empty()) {
            message += fmt::format(" (did you mean \"{}\"?)", hint);
        }
        fail(*node, key, message);
    }

    void fail(const toml::node& node, std::string_view key, const std::string& what) {
        _reader.error(node.source(), fmt::format("'{}' in {} {}", key, _header, what));
    }

  private:
    void check_unknown_keys() {
        for (const auto& [key, node] : _table) {
            std::string_view name = key.str();
            if (std::find(_section.keys.begin(), _section.keys.end(), name) != _section.keys.end()) continue;
            std::string message = fmt::format("unknown key '{}' in {}", name, _header);
            if (auto hint = config_schema::closest(name, _section.keys); !hint.empty()) {
                message += fmt::format(" (did you mean '{}'?)", hint);
            } else if (const Section* home = section_with_key(name)) {
                message += fmt::format(" (it belongs in {})", config_schema::header(*home));
            }
            // A key written on a line of its own has a source; one made implicitly by a dotted header
            // ([limits.x]) points at the node instead.
            _reader.error(key.source().begin.line ? key.source() : node.source(), message);
        }
    }

    static const Section* section_with_key(std::string_view name) {
        for (const Section& s : config_schema::sections()) {
            if (std::find(s.keys.begin(), s.keys.end(), name) != s.keys.end()) return &s;
        }
        return nullptr;
    }

    Reader& _reader;
    const toml::table& _table;
    const Section& _section;
    std::string _header;
};

void read_broker(Reader& reader, const toml::table& table, BrokerConfig& out) {
    TableReader t(reader, table, *config_schema::find_section("broker"));
    t.boolean("allow_anonymous", out.allow_anonymous);
    t.boolean("retain_available", out.retain_available);
    t.boolean("wildcard_subscriptions", out.wildcard_subscriptions);
    t.boolean("shared_subscriptions", out.shared_subscriptions);
    t.boolean("subscription_identifiers", out.subscription_identifiers);
    t.integer("maximum_qos", out.maximum_qos, 0, 2);
    t.integer("sys_interval", out.sys_interval);
    t.integer("workers", out.workers, 0, kMaxWorkers);
    t.integer("plugin_timeout_ms", out.plugin_timeout_ms, 1, kMaxPluginTimeoutMs);
    t.boolean("allow_control_characters", out.allow_control_characters);
    t.integer("persist_delay_ms", out.persist_delay_ms, 0, kMaxPersistDelayMs);
}

void read_limits(Reader& reader, const toml::table& table, LimitsConfig& out) {
    TableReader t(reader, table, *config_schema::find_section("limits"));
    t.integer("max_packet_size", out.max_packet_size, kMinPacketSize, kMqttMaxPacketSize);
    t.integer("max_connect_packet_size", out.max_connect_packet_size, kMinPacketSize, kMqttMaxPacketSize);
    t.integer("max_connections", out.max_connections);
    t.integer("max_pending_connects", out.max_pending_connects);
    t.integer("max_connections_per_address", out.max_connections_per_address);
    t.integer("max_inflight", out.max_inflight, 1);
    t.integer("max_queued_messages", out.max_queued_messages, 1);
    t.integer("max_queued_bytes", out.max_queued_bytes, 0, std::numeric_limits<int64_t>::max());
    t.choice("queue_full_policy", out.queue_full_policy,
             std::array{std::pair{std::string_view("backpressure"), QueueFullPolicy::Backpressure},
                        std::pair{std::string_view("drop_newest"), QueueFullPolicy::DropNewest},
                        std::pair{std::string_view("drop_oldest"), QueueFullPolicy::DropOldest},
                        std::pair{std::string_view("refuse"), QueueFullPolicy::Refuse}});
    // Nobody can wait for a device that is away: an offline queue only drops.
    t.choice("offline_queue_policy", out.offline_queue_policy,
             std::array{std::pair{std::string_view("drop_newest"), QueueFullPolicy::DropNewest},
                        std::pair{std::string_view("drop_oldest"), QueueFullPolicy::DropOldest}});
    t.integer("backpressure_timeout", out.backpressure_timeout, 1, 3600);
    // MQTT 3.1.1 (3.1.3.1): a server must accept client identifiers of 1 to 23 characters.
    t.integer("max_client_id_length", out.max_client_id_length, 23);
    t.integer("max_keep_alive", out.max_keep_alive, 1);
    t.integer("topic_alias_maximum", out.topic_alias_maximum);
    t.integer("max_topic_alias_out", out.max_topic_alias_out);
    t.integer("max_session_expiry", out.max_session_expiry);
    t.integer("max_sessions", out.max_sessions);
    t.integer("max_message_expiry", out.max_message_expiry);
    t.integer("max_subscriptions_per_client", out.max_subscriptions_per_client);
    // A topic of N levels has N-1 '/'; 65535 bytes hold at most 32768 levels.
    t.integer("max_topic_levels", out.max_topic_levels, 1, 32768);
    t.integer("max_user_properties", out.max_user_properties);
    t.integer("max_output_buffer", out.max_output_buffer, 1024);
    t.integer("max_total_output_buffer", out.max_total_output_buffer, 0, std::numeric_limits<int64_t>::max());
    t.integer("send_timeout", out.send_timeout, 1);
    t.integer("max_retained_messages", out.max_retained_messages);
    t.integer("max_retained_payload", out.max_retained_payload, 0, kMqttMaxPacketSize);
    t.integer("connect_timeout", out.connect_timeout, 1);
}

void read_log(Reader& reader, const toml::table& table, LogConfig& out) {
    TableReader t(reader, table, *config_schema::find_section("log"));
    t.choice("level", out.level,
             std::array{std::pair{std::string_view("error"), LogLevel::Error},
                        std::pair{std::string_view("warning"), LogLevel::Warning},
                        std::pair{std::string_view("info"), LogLevel::Info},
                        std::pair{std::string_view("debug"), LogLevel::Debug}});
    t.string("file", out.file);
}

// A path from the config file, made absolute against the file's folder (as a plugin's path).
std::string path_from_config(const Reader& reader, const std::string& text) {
    namespace fs = std::filesystem;
    fs::path file(text);
    if (file.is_relative()) file = fs::absolute(fs::path(reader.file()).parent_path() / file);
    return file.lexically_normal().string();
}

// The tls_* keys of a [[listener]]. Whether the files load is checked when the listener starts
// (and by --check-config), where OpenSSL can say why not.
void read_listener_tls(Reader& reader, TableReader& t, const toml::table& table, TlsConfig& tls) {
    constexpr std::array kFiles = {std::pair{std::string_view("tls_cert_file"), &TlsConfig::cert_file},
                                   std::pair{std::string_view("tls_key_file"), &TlsConfig::key_file},
                                   std::pair{std::string_view("tls_ca_file"), &TlsConfig::ca_file},
                                   std::pair{std::string_view("tls_ca_dir"), &TlsConfig::ca_dir}};
    for (const auto& [key, field] : kFiles) {
        std::string& value = tls.*field;
        t.string(key, value);
        if (const toml::node* node = table.get(key); node && node->is_string()) {
            if (value.empty())
                t.fail(*node, key, "must not be empty (leave it out instead)");
            else
                value = path_from_config(reader, value);
        }
    }
    t.choice(
        "tls_min_version", tls.min_version,
        std::array{std::pair{std::string_view("1.2"), 0x0303}, std::pair{std::string_view("1.3"), 0x0304}});
    t.string("tls_ciphers", tls.ciphers);
    t.string("tls_ciphersuites", tls.ciphersuites);
    t.boolean("require_client_cert", tls.require_client_cert);
    // false reads as "none", so that `use_identity_as_username = false` says what it looks like.
    if (const toml::node* node = table.get("use_identity_as_username"); node && node->is_boolean()) {
        if (*node->value_exact<bool>())
            t.fail(*node, "use_identity_as_username", "must be \"cn\", \"san\" or false (which field?)");
    } else {
        t.choice("use_identity_as_username", tls.identity_as_username,
                 std::array{std::pair{std::string_view("cn"), TlsIdentity::CommonName},
                            std::pair{std::string_view("san"), TlsIdentity::SubjectAltName},
                            std::pair{std::string_view("none"), TlsIdentity::None}});
    }
    t.integer("tls_handshake_timeout", tls.handshake_timeout, 1, 3600);

    // Keys that mean nothing without a certificate, and combinations that cannot work.
    const toml::node* cert = table.get("tls_cert_file");
    for (std::string_view key :
         {"tls_key_file", "tls_ca_file", "tls_ca_dir", "tls_min_version", "tls_ciphers", "tls_ciphersuites",
          "require_client_cert", "use_identity_as_username", "tls_handshake_timeout"}) {
        const toml::node* node = table.get(key);
        if (node && !cert)
            t.fail(*node, key,
                   "needs tls_cert_file (and tls_key_file) in the same [[listener]]: without "
                   "them the listener has no TLS");
    }
    if (cert && !table.get("tls_key_file"))
        t.fail(*cert, "tls_cert_file", "needs tls_key_file, the certificate's private key");
    if (const toml::node* node = table.get("require_client_cert");
        node && tls.require_client_cert && tls.ca_file.empty() && tls.ca_dir.empty())
        t.fail(*node, "require_client_cert",
               "needs tls_ca_file or tls_ca_dir: the CA that signs the client certificates");
    if (const toml::node* node = table.get("use_identity_as_username");
        node && tls.identity_as_username != TlsIdentity::None && !tls.require_client_cert)
        t.fail(*node, "use_identity_as_username",
               "needs require_client_cert = true: only a verified certificate can name the user");
}

void read_listener(Reader& reader, const toml::table& table, std::vector<ListenerConfig>& out) {
    TableReader t(reader, table, *config_schema::find_section("listener"));
    ListenerConfig listener;
    t.string("bind", listener.bind);
    t.integer("port", listener.port, 1);
    t.string("transport", listener.transport);
    if (const toml::node* transport = table.get("transport"); transport && transport->is_string()) {
        if (listener.transport.empty()) {
            t.fail(*transport, "transport", "must not be empty (leave it out for plain MQTT over TCP)");
        }
    }
    const auto decisions = std::array{std::pair{std::string_view("allow"), DefaultDecision::Allow},
                                      std::pair{std::string_view("deny"), DefaultDecision::Deny}};
    t.choice("auth_default", listener.auth_default, decisions);
    t.choice("acl_default", listener.acl_default, decisions);
    if (const toml::node* bind = table.get("bind"); bind && bind->is_string()) {
        if (std::string why = check_bind_address(listener.bind); !why.empty()) t.fail(*bind, "bind", why);
    }
    read_listener_tls(reader, t, table, listener.tls);
    listener.source = fmt::format("{}:{}", reader.file(), table.source().begin.line);
    for (const ListenerConfig& other : out) {
        if (other.bind == listener.bind && other.port == listener.port) {
            reader.error(table.source(), fmt::format("[[listener]] {}:{} is already defined at {}",
                                                     listener.bind, listener.port, other.source));
        }
    }
    out.push_back(std::move(listener));
}

bool is_plugin_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
    });
}

// Where a key was written: its own position, or its value's when the key has none (an implicit
// table made by a dotted header).
const toml::source_region& key_source(const toml::key& key, const toml::node& node) {
    return key.source().begin.line ? key.source() : node.source();
}

// A scalar option value as TOML writes it, without quotes for strings; nullopt for other types.
std::optional<std::string> option_text(const toml::node& node) {
    if (auto v = node.value_exact<std::string>()) return *v;
    if (auto v = node.value_exact<int64_t>()) return fmt::format("{}", *v);
    if (auto v = node.value_exact<bool>()) return std::string(*v ? "true" : "false");
    if (auto v = node.value_exact<double>()) {
        if (std::isnan(*v)) return std::string("nan");
        if (std::isinf(*v)) return std::string(*v < 0 ? "-inf" : "inf");
        std::string text = fmt::format("{}", *v);  // shortest text that reads back the same
        if (text.find_first_of(".e") == std::string::npos) text += ".0";
        return text;
    }
    return std::nullopt;
}

void read_plugin_options(Reader& reader, TableReader& t, const toml::node& node, PluginConfig& plugin) {
    const toml::table* options = node.as_table();
    if (!options) {
        t.fail(node, "options",
               fmt::format("must be a table ([plugin.options] or options = {{ ... }}), not {}",
                           type_name(node.type())));
        return;
    }
    // toml::table is sorted by key; the plugin gets its options in the order the file has them.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (const auto& [key, value] : *options)
        entries.emplace_back(&key, &value);
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        const auto& pa = key_source(*a.first, *a.second).begin;
        const auto& pb = key_source(*b.first, *b.second).begin;
        return std::tie(pa.line, pa.column) < std::tie(pb.line, pb.column);
    });
    for (const auto& [key, value] : entries) {
        if (auto text = option_text(*value)) {
            plugin.options.emplace_back(std::string(key->str()), std::move(*text));
            plugin.option_lines.push_back(static_cast<uint32_t>(key_source(*key, *value).begin.line));
        } else {
            reader.error(key_source(*key, *value),
                         fmt::format("option '{}' of [[plugin]] '{}' must be a string, an integer, a "
                                     "floating-point number or a boolean, not {}",
                                     key->str(), plugin.name, type_name(value->type())));
        }
    }
}

void read_plugin(Reader& reader, const toml::table& table, std::vector<PluginConfig>& out) {
    TableReader t(reader, table, *config_schema::find_section("plugin"));
    PluginConfig plugin;
    plugin.source = fmt::format("{}:{}", reader.file(), table.source().begin.line);
    plugin.file = reader.file();
    t.string("name", plugin.name);
    t.string("path", plugin.path);
    const toml::node* name = table.get("name");
    const toml::node* path = table.get("path");
    if (!name && !path) {
        reader.error(table.source(), "[[plugin]] needs a 'name', a 'path' or both");
        return;
    }
    bool ok = true;
    if (path && path->is_string()) {
        if (plugin.path.empty()) {
            t.fail(*path, "path", "must not be empty");
            ok = false;
        } else {
            plugin.path = path_from_config(reader, plugin.path);
            if (!name) {
                std::string stem = std::filesystem::path(plugin.path).filename().string();
                if (stem.size() >= 3 && stem.ends_with(".so")) stem.resize(stem.size() - 3);
                plugin.name = stem;
                if (!is_plugin_name(stem)) {
                    t.fail(*path, "path",
                           fmt::format("gives the plugin name \"{}\", which is not made of letters, digits, "
                                       "'_' and '-' only: set 'name'",
                                       stem));
                    ok = false;
                }
            }
        }
    } else if (path) {
        ok = false;
    }
    if (name && name->is_string() && !is_plugin_name(plugin.name)) {
        t.fail(*name, "name",
               plugin.name.empty()
                   ? std::string("must not be empty")
                   : fmt::format("is \"{}\": use only letters, digits, '_' and '-'", plugin.name));
        ok = false;
    } else if (name && !name->is_string()) {
        ok = false;
    }
    if (const toml::node* options = table.get("options")) read_plugin_options(reader, t, *options, plugin);
    if (!ok) return;
    for (const PluginConfig& other : out) {
        if (other.name == plugin.name) {
            reader.error(table.source(),
                         fmt::format("plugin '{}' is already loaded at {}", plugin.name, other.source));
            return;
        }
    }
    out.push_back(std::move(plugin));
}

// The message for a top-level key that is not a section.
std::string unknown_top_level(std::string_view name, const toml::node& node) {
    std::vector<std::string_view> names;
    for (const Section& s : config_schema::sections()) {
        if (std::find(s.keys.begin(), s.keys.end(), name) != s.keys.end()) {
            return fmt::format("unknown top-level key '{}' (it belongs in {})", name,
                               config_schema::header(s));
        }
        names.push_back(s.name);
    }
    std::string_view hint = config_schema::closest(name, names);
    std::string hint_text;
    if (!hint.empty())
        hint_text =
            fmt::format(" (did you mean {}?)", config_schema::header(*config_schema::find_section(hint)));
    if (node.is_table()) return fmt::format("unknown table [{}]{}", name, hint_text);
    if (node.is_array_of_tables()) return fmt::format("unknown table [[{}]]{}", name, hint_text);
    return fmt::format("unknown top-level key '{}'{}", name, hint_text);
}

Config read_document(Reader& reader, const toml::table& root) {
    Config config;
    for (const auto& [key, node] : root) {
        std::string_view name = key.str();
        const Section* section = config_schema::find_section(name);
        if (!section) {
            // A table's own position is its header's '['; a plain key's is the key.
            bool header_first = (node.is_table() || node.is_array_of_tables()) && node.source().begin.line;
            reader.error(header_first || !key.source().begin.line ? node.source() : key.source(),
                         unknown_top_level(name, node));
        } else if (section->array) {
            const toml::array* tables = node.as_array();
            if (!tables || !tables->is_array_of_tables()) {
                reader.error(node.source(),
                             fmt::format("'{0}' must be written as [[{0}]] tables (one per {0}), not {1}",
                                         name, type_name(node.type())));
                continue;
            }
            for (const toml::node& element : *tables) {
                if (name == "listener") read_listener(reader, *element.as_table(), config.listeners);
                if (name == "plugin") read_plugin(reader, *element.as_table(), config.plugins);
            }
        } else if (const toml::table* table = node.as_table()) {
            if (name == "broker") read_broker(reader, *table, config.broker);
            if (name == "limits") read_limits(reader, *table, config.limits);
            if (name == "log") read_log(reader, *table, config.log);
        } else {
            reader.error(node.source(), fmt::format("'{0}' must be a table ([{0}]), not {1}", name,
                                                    node.is_array_of_tables() ? "an array of tables"
                                                                              : type_name(node.type())));
        }
    }
    reader.throw_if_failed();
    if (config.listeners.empty()) {
        ListenerConfig listener;
        listener.source = "default";
        config.listeners.push_back(listener);
    }
    return config;
}

}  // namespace

Config parse_config(std::string_view toml_text, const std::string& name) {
    Reader reader(name);
    toml::table root;
#if TOML_EXCEPTIONS
    try {
        root = toml::parse(toml_text, name);
    } catch (const toml::parse_error& e) {
        reader.error(e.source(), fmt::format("syntax error: {}", e.description()));
    }
#else
    toml::parse_result result = toml::parse(toml_text, name);
    if (!result) {
        reader.error(result.error().source(), fmt::format("syntax error: {}", result.error().description()));
    } else {
        root = std::move(result).table();
    }
#endif
    reader.throw_if_failed();
    Config config = read_document(reader, root);
    config.source_file = name;
    return config;
}

Config load_config_file(const std::string& path) {
    // A folder opens and reads as nothing: without this check `roost -c /etc/roost` would run with
    // the built-in defaults and say nothing.
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw ConfigError(
            fmt::format("{}: is a folder, not a configuration file: give the path of the .toml "
                        "file (e.g. {}/roost.toml)",
                        path, path.ends_with('/') ? path.substr(0, path.size() - 1) : path));
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw ConfigError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
    return parse_config(text.str(), path);
}

ListenerConfig parse_listen_address(const std::string& text) {
    auto fail = [&](const std::string& why) -> ListenerConfig {
        throw ConfigError(fmt::format("invalid listen address '{}': {}", text, why));
    };
    std::string host;
    std::string_view port;
    std::string_view view = text;
    if (view.empty()) return fail("expected ADDR:PORT, [IPv6]:PORT or PORT");
    if (view.front() == '[') {
        size_t close = view.find(']');
        if (close == std::string_view::npos) return fail("missing ']' after the IPv6 address");
        host = std::string(view.substr(1, close - 1));
        if (close + 1 >= view.size() || view[close + 1] != ':') return fail("expected ':PORT' after ']'");
        port = view.substr(close + 2);
        if (!is_ipv6(host)) return fail(fmt::format("'{}' is not an IPv6 address", host));
    } else if (size_t colon = view.find(':'); colon == std::string_view::npos) {
        if (view.find_first_not_of("0123456789") != std::string_view::npos) {
            return fail("expected ADDR:PORT, [IPv6]:PORT or PORT");
        }
        host = "0.0.0.0";
        port = view;
    } else if (view.find(':', colon + 1) != std::string_view::npos) {
        return fail("put IPv6 addresses in brackets, as in [::1]:1883");
    } else {
        host = std::string(view.substr(0, colon));
        port = view.substr(colon + 1);
        if (host.empty()) return fail("missing address before ':' (use 0.0.0.0:PORT for every interface)");
        if (!is_ipv4(host)) {
            return fail(fmt::format("'{}' is not an IPv4 address (host names are not resolved)", host));
        }
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
        return fail(fmt::format("port '{}' is not a number from 1 to 65535", port));
    }
    ListenerConfig listener;
    listener.bind = std::move(host);
    listener.port = static_cast<uint16_t>(value);
    listener.source = "command line";
    return listener;
}

}  // namespace roost
