// The broker's configuration as typed values. Every field has the default that `roost` with no
// config file runs with; config.cpp fills it from roost.toml and the command line.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace roost {

enum class LogLevel { Error, Warning, Info, Debug };

// What happens when a session's queue is full ([limits] queue_full_policy for sessions whose
// client is connected, offline_queue_policy for the others).
enum class QueueFullPolicy {
    DropNewest,    // the new message is not queued: what was queued first stays
    DropOldest,    // the oldest queued message is dropped to make room
    Backpressure,  // queued anyway; the publisher's PUBACK/PUBREC waits (and it is not read) until
                   // the queue has room, up to backpressure_timeout
    Refuse,        // not queued; an MQTT 5 publisher's PUBACK/PUBREC says 0x97 Quota exceeded
};

// What decides when every plugin of a kind answered NEXT.
enum class DefaultDecision {
    Auto,  // auth: deny once any auth plugin is loaded, else [broker] allow_anonymous decides
    Allow,
    Deny,
};

// Where a TLS listener takes the MQTT user name from (use_identity_as_username).
enum class TlsIdentity {
    None,            // the CONNECT's user name, as on any listener
    CommonName,      // the client certificate's subject CN
    SubjectAltName,  // its first DNS, email or URI subject alternative name
};

// A listener's TLS settings (the tls_* keys of its [[listener]] table). TLS is on when cert_file
// is set. Paths are absolute (made so against the config file's folder).
struct TlsConfig {
    std::string cert_file{};           // PEM certificate chain, the server's first
    std::string key_file{};            // PEM private key of that certificate
    std::string ca_file{};             // PEM CA certificates that verify client certificates
    std::string ca_dir{};              // a c_rehash'ed folder of CA certificates, the same use
    int min_version = 0x0303;          // TLS1_2_VERSION; or TLS1_3_VERSION (0x0304)
    std::string ciphers{};             // TLS 1.2 cipher list (OpenSSL syntax); empty = OpenSSL's default
    std::string ciphersuites{};        // TLS 1.3 suites; empty = OpenSSL's default
    bool require_client_cert = false;  // mTLS: a client without a trusted certificate is refused
    TlsIdentity identity_as_username = TlsIdentity::None;
    uint32_t handshake_timeout = 10;  // seconds from accept to a finished handshake
    bool enabled() const { return !cert_file.empty(); }
};

struct ListenerConfig {
    std::string bind = "127.0.0.1";  // loopback only unless asked: a safe default (issue 12)
    uint16_t port = 1883;
    std::string source{};     // "file:line" of its [[listener]] table, "command line" or "default"
    std::string transport{};  // empty = plain MQTT; else a transport plugin's name ("ws")
    DefaultDecision auth_default = DefaultDecision::Auto;
    DefaultDecision acl_default = DefaultDecision::Allow;
    TlsConfig tls{};  // off unless tls_cert_file is set
};

struct LimitsConfig {
    uint32_t max_packet_size = 1048576;        // bytes, both directions (the MQTT maximum is 268435460)
    uint32_t max_connect_packet_size = 65536;  // bytes, for a CONNECT (before authentication)
    uint32_t max_connections = 0;              // 0 = automatic: the open-file limit minus 64
    uint32_t max_pending_connects = 1024;      // connections that have not finished CONNECT; 0 = unlimited
    uint32_t max_connections_per_address = 0;  // 0 = unlimited
    uint16_t max_inflight = 32;                // per client, each direction (MQTT 5 Receive Maximum)
    uint32_t max_queued_messages = 1000;       // per offline or slow session; at least 1
    uint64_t max_queued_bytes = 16 * 1024 * 1024;  // payload + topic bytes per session; 0 = no bound
    QueueFullPolicy queue_full_policy = QueueFullPolicy::Backpressure;   // client connected
    QueueFullPolicy offline_queue_policy = QueueFullPolicy::DropNewest;  // client away: nobody to wait for
    uint32_t backpressure_timeout = 30;  // seconds a publisher waits for a full queue before it drops
    uint16_t max_client_id_length = 256;
    uint16_t max_keep_alive = 65535;               // seconds; longer requests are cut (Server Keep Alive)
    uint16_t topic_alias_maximum = 16;             // aliases a client may use towards the broker
    uint16_t max_topic_alias_out = 10;             // aliases the broker uses towards a client, at most
    uint32_t max_session_expiry = 1209600;         // seconds (14 days); longer requests are cut, 3.1.1 too
    uint32_t max_sessions = 0;                     // 0 = unlimited
    uint32_t max_message_expiry = 0;               // 0 = no limit
    uint32_t max_subscriptions_per_client = 1000;  // 0 = unlimited
    uint16_t max_topic_levels = 128;               // levels of a topic name or filter
    uint16_t max_user_properties = 64;             // MQTT 5 user properties per packet (each block)
    uint32_t max_output_buffer = 1048576;          // bytes unsent to one client before it is throttled
    uint64_t max_total_output_buffer = 268435456;  // bytes unsent to all clients; 0 = unlimited
    uint16_t send_timeout = 15;                    // seconds a client may leave output unread
    uint32_t max_retained_messages = 100000;       // 0 = unlimited
    uint32_t max_retained_payload = 1048576;       // bytes of one retained message's payload
    uint16_t connect_timeout = 10;                 // seconds a new connection has to send CONNECT
};

struct BrokerConfig {
    bool allow_anonymous = true;
    bool retain_available = true;
    bool wildcard_subscriptions = true;
    bool shared_subscriptions = true;
    bool subscription_identifiers = true;
    uint8_t maximum_qos = 2;
    uint32_t sys_interval = 10;             // seconds between $SYS updates; 0 = off
    unsigned workers = 0;                   // event-loop threads; 0 = one per core
    uint32_t plugin_timeout_ms = 5000;      // a PENDING auth or ACL answer not given by then denies
    bool allow_control_characters = false;  // in client ids, user names and topics (log safety)
    // How long a QoS 1 delivery sent at once to a connected stored session waits for its PUBACK
    // before the persistence plugins are asked to store it (an acknowledged delivery needs no
    // storing); 0 = stored at once. docs/configuration.md, "persist_delay_ms".
    uint32_t persist_delay_ms = 5;
};

// One [[plugin]] table.
struct PluginConfig {
    std::string name;  // from `name`, or the file name of `path` without ".so"
    std::string path;  // from `path`, made absolute against the config file's folder; empty = search by name
    std::vector<std::pair<std::string, std::string>> options;  // the [plugin.options] table, in file order
    std::vector<uint32_t> option_lines;  // the line of each option (parallel to options; may be shorter: 0)
    std::string file;                    // the config file of the table ("" when none)
    std::string source;                  // "file:line" of the table
};

struct LogConfig {
    LogLevel level = LogLevel::Info;
    std::string file;  // empty = stderr
};

struct Config {
    std::string source_file;  // empty when no file was read
    BrokerConfig broker;
    LimitsConfig limits;
    LogConfig log;
    std::vector<ListenerConfig> listeners;  // never empty after load: 127.0.0.1:1883 by default
    std::vector<PluginConfig> plugins;      // in config order: the order hooks are asked in
};

// A configuration error: one or more lines, each starting "file:line:column: " when known.
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Parses roost.toml. Unknown keys, wrong types and out-of-range values throw ConfigError
// naming file:line and the key. Listeners default to 127.0.0.1:1883 when the file has none.
Config load_config_file(const std::string& path);

// Parses TOML text (for tests); `name` stands in for the file name in messages.
Config parse_config(std::string_view toml_text, const std::string& name);

// Parses "ADDR:PORT", "[v6]:PORT" or a bare port into a listener; throws ConfigError.
ListenerConfig parse_listen_address(const std::string& text);

}  // namespace roost
