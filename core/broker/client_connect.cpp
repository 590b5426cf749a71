// CONNECT and AUTH: who the client is, what it may do, which session it gets (spec 3.1, 3.2,
// 3.15, 4.12).
#include "broker/broker.hpp"
#include "broker/client.hpp"
#include "broker/router.hpp"
#include "mqtt/topic.hpp"
#include "util/log.hpp"

namespace roost {
namespace {
constexpr uint32_t kMqttMaxPacketSize = 268435460;
}

void Client::handle_connect(mqtt::Connect& c) {
    using mqtt::ReasonCode;
    const LimitsConfig& limits = _broker.limits();
    const BrokerConfig& features = _broker.config().broker;
    _version = c.version;
    _username = c.username;
    // Spec 3.1.2-24/25: the client's Maximum Packet Size holds from the first packet sent to it,
    // a refusing CONNACK included (send() then leaves its Reason String out).
    if (_version == mqtt::ProtocolVersion::V5)
        _client_maximum_packet_size = c.properties.maximum_packet_size.value_or(kMqttMaxPacketSize);

    if (_broker.at_connection_limit())
        return refuse_connect(
            ReasonCode::ServerBusy,
            fmt::format("connection limit reached ([limits] max_connections = {})", limits.max_connections));

    if (c.client_id.empty()) {
        // 3.1.1 spec 3.1.3-8: a zero-length id only with a clean session.
        if (_version == mqtt::ProtocolVersion::V311 && !c.clean_start)
            return refuse_connect(
                ReasonCode::ClientIdentifierNotValid,
                "empty client id with clean session = 0 (MQTT 3.1.1 needs an id to keep a session)");
        c.client_id = _broker.assign_client_id();
        _assigned_id = true;
    }
    if (c.client_id.size() > limits.max_client_id_length)
        return refuse_connect(ReasonCode::ClientIdentifierNotValid,
                              fmt::format("client id is {} bytes, over [limits] max_client_id_length = {}",
                                          c.client_id.size(), limits.max_client_id_length));
    if (!features.allow_control_characters) {
        // Issue 12, item 11: ids and names end up in log lines and $SYS topics.
        if (mqtt::has_control_characters(c.client_id))
            return refuse_connect(
                ReasonCode::ClientIdentifierNotValid,
                "client id contains a control character ([broker] allow_control_characters)");
        if (c.username && mqtt::has_control_characters(*c.username))
            return refuse_connect(
                ReasonCode::BadUserNameOrPassword,
                "user name contains a control character ([broker] allow_control_characters)");
    }
    _client_id = c.client_id;
    if (limits.max_sessions != 0 && _broker.session_count() >= limits.max_sessions &&
        !_broker.router().owner(_client_id)) {
        log::limit("max_sessions", "{}: refused: {} sessions, [limits] max_sessions = {}", describe(),
                   _broker.session_count(), limits.max_sessions);
        return refuse_connect(
            ReasonCode::QuotaExceeded,
            fmt::format("session limit reached ([limits] max_sessions = {})", limits.max_sessions));
    }

    if (c.will) {
        if (c.will->qos > features.maximum_qos)
            return refuse_connect(
                ReasonCode::QosNotSupported,
                fmt::format("will QoS {} is over the maximum QoS {}", c.will->qos, features.maximum_qos));
        if (c.will->retain && !features.retain_available)
            return refuse_connect(ReasonCode::RetainNotSupported,
                                  "retained will, but retain is not available");
    }

    // A TLS listener with use_identity_as_username: the verified certificate names the user,
    // whatever the CONNECT says (auth and ACL plugins see that name).
    if (_listener.tls.identity_as_username != TlsIdentity::None) {
        const std::string* identity = _connection->tls_identity();
        if (!identity || identity->empty())
            return refuse_connect(ReasonCode::NotAuthorized,
                                  fmt::format("the client certificate has no {} to use as the user name "
                                              "([[listener]] use_identity_as_username)",
                                              _listener.tls.identity_as_username == TlsIdentity::CommonName
                                                  ? "CN"
                                                  : "DNS, email or URI subject alternative name"));
        c.username = *identity;
        _username = c.username;
    }

    AuthRequest request;
    request.stage = ROOST_AUTH_CONNECT;
    request.username = c.username;
    request.password = c.password;
    if (c.properties.authentication_method) {
        rare().auth.emplace().method = *c.properties.authentication_method;
        request.method = _rare->auth->method;
        request.data = c.properties.authentication_data.value_or("");
    }
    rare().connect = std::move(c);
    run_auth(std::move(request));
}

const std::string& Client::auth_method() const {
    static const std::string none;
    return _rare && _rare->auth ? _rare->auth->method : none;
}

void Client::run_auth(AuthRequest request) {
    HookDecision d = _broker.hooks().authenticate(*this, request, [this](const HookDecision& late) {
        resume_after_wait();
        on_auth_decision(late);
        process();
    });
    if (d.pending) {
        wait_for(std::move(d.token));
        return;
    }
    on_auth_decision(d);
}

void Client::on_auth_decision(const HookDecision& d) {
    if (closing()) return;
    bool reauth = _state == State::Connected;
    if (reauth && !(d.allowed && d.more)) _reauthenticating = false;  // this decision ends it
    if (!d.allowed) {
        if (reauth) {
            log::warn("{}: re-authentication refused: {}", describe(), d.why);
            return disconnect(d.reason, d.why);
        }
        return refuse_connect(d.reason, d.why);
    }
    if (d.plugin != SIZE_MAX && _rare && _rare->auth) _rare->auth->plugin = d.plugin;  // for the AUTH rounds
    if (d.more) {
        // Another round of the method's exchange (spec 4.12): the client answers with AUTH 0x18.
        if (auth_method().empty() || _version != mqtt::ProtocolVersion::V5)
            return refuse_connect(
                mqtt::ReasonCode::ImplementationSpecificError,
                "an auth plugin asked for another round without an MQTT 5 authentication method");
        mqtt::Auth auth;
        auth.reason_code = static_cast<uint8_t>(mqtt::ReasonCode::ContinueAuthentication);
        auth.properties.authentication_method = _rare->auth->method;
        auth.properties.authentication_data = d.reply;
        if (!reauth) {
            _state = State::Authenticating;
            _last_packet_at = Clock::now();  // no longer the moment of accept (client.hpp)
            _broker.recheck_client(*this);   // keep alive applies from now on
        }
        return send(auth);
    }
    if (reauth) {
        mqtt::Auth auth;
        auth.properties.authentication_method = _rare->auth->method;
        if (!d.reply.empty()) auth.properties.authentication_data = d.reply;
        send(auth);
        log::info("{}: re-authenticated", describe());
        return;
    }
    check_will_then_connect(d.reply);
}

void Client::check_will_then_connect(const std::string& auth_reply) {
    // The will is a publish the client asks for in advance: the ACL judges it now, while the
    // client can still be told, not when the client is gone (as Mosquitto 2 does).
    const std::optional<mqtt::Will>& will = _rare->connect->will;
    if (!will || !_broker.hooks().has_acl()) return finish_connect(auth_reply);
    HookDecision acl = _broker.hooks().acl(*this, AclAction::Publish, will->topic, will->payload, will->qos,
                                           will->retain, [this, auth_reply](const HookDecision& late) {
                                               resume_after_wait();
                                               if (closing()) return;
                                               on_will_decision(late, auth_reply);
                                               process();
                                           });
    if (acl.pending) {
        wait_for(std::move(acl.token));
        return;
    }
    on_will_decision(acl, auth_reply);
}

void Client::on_will_decision(const HookDecision& acl, const std::string& auth_reply) {
    if (!acl.allowed)
        return refuse_connect(
            acl.reason, fmt::format("will topic '{}' refused: {}", _rare->connect->will->topic, acl.why));
    finish_connect(auth_reply);
}

void Client::handle_auth(const mqtt::Auth& a) {
    using mqtt::ReasonCode;
    if (auth_method().empty())
        return protocol_error(ReasonCode::ProtocolError,
                              "AUTH packet without an authentication method in CONNECT");
    if (a.properties.authentication_method.value_or("") != auth_method())
        return protocol_error(ReasonCode::ProtocolError,
                              "AUTH with a different authentication method than CONNECT");
    auto reason = static_cast<ReasonCode>(a.reason_code);
    AuthRequest request;
    request.method = _rare->auth->method;
    request.data = a.properties.authentication_data.value_or("");
    request.plugin = _rare->auth->plugin;
    // Spec 4.12: CONTINUE answers the broker's AUTH 0x18, in the CONNECT exchange or in a
    // re-authentication; only a connected client with none under way may begin one with 0x19.
    bool exchange = _state == State::Authenticating || _reauthenticating;
    if (exchange && reason == ReasonCode::ContinueAuthentication) {
        request.stage = ROOST_AUTH_CONTINUE;
    } else if (_state == State::Connected && !_reauthenticating && reason == ReasonCode::ReAuthenticate) {
        request.stage = ROOST_AUTH_REAUTH;
        _reauthenticating = true;
    } else {
        return protocol_error(
            ReasonCode::ProtocolError,
            fmt::format("AUTH with reason {:#04x} at this point of the exchange", a.reason_code));
    }
    run_auth(std::move(request));
}

void Client::finish_connect(const std::string& auth_reply) {
    const LimitsConfig& limits = _broker.limits();
    mqtt::Connect& c = *_rare->connect;
    const mqtt::Properties& props = c.properties;
    uint32_t session_expiry = 0;
    bool expiry_cut = false;
    // The outbound window is the client's Receive Maximum, and never more than ours, so one
    // client cannot tie up 65535 unacknowledged messages (3.1.1 has no Receive Maximum at all).
    _client_receive_maximum = limits.max_inflight;
    if (_version == mqtt::ProtocolVersion::V311) {
        session_expiry = c.clean_start ? 0 : UINT32_MAX;
    } else {
        session_expiry = props.session_expiry_interval.value_or(0);
        _client_receive_maximum = std::min(props.receive_maximum.value_or(65535), limits.max_inflight);
        // Each outbound alias is a table entry held for the connection: the broker's cap wins
        // over whatever the client offers (issue 12, item 12).
        _client_topic_alias_maximum =
            std::min(props.topic_alias_maximum.value_or(0), limits.max_topic_alias_out);
        _request_problem_information = props.request_problem_information.value_or(1) == 1;
    }
    if (session_expiry > limits.max_session_expiry) {
        session_expiry = limits.max_session_expiry;
        expiry_cut = true;
    }

    _keep_alive = c.keep_alive;
    bool keep_alive_cut = false;
    if (_version == mqtt::ProtocolVersion::V5 && limits.max_keep_alive < 65535 &&
        (c.keep_alive == 0 || c.keep_alive > limits.max_keep_alive)) {
        _keep_alive = limits.max_keep_alive;
        keep_alive_cut = true;
    }

    if (c.will) {
        _will = std::move(c.will);
        _will_delay = _will->properties.will_delay_interval.value_or(0);
    }

    // The session may be owned by another worker: then the CONNACK waits for its handover, and
    // packets behind the CONNECT wait with it.
    struct AttachProgress {
        bool returned = false;  // attach() returned before the session came
        bool ran = false;
    };
    auto progress = std::make_shared<AttachProgress>();
    auto token = std::make_shared<PendingToken>();
    ConnectOutcome outcome{auth_reply, session_expiry, expiry_cut, keep_alive_cut};
    _broker.attach(*this, _client_id, c.clean_start, session_expiry, token,
                   [this, progress, outcome](std::shared_ptr<Session> session, bool present) {
                       progress->ran = true;
                       if (progress->returned) resume_after_wait();
                       send_connack(std::move(session), present, outcome);
                       if (progress->returned) process();
                   });
    if (progress->ran) return;
    progress->returned = true;
    wait_for(token);
}

void Client::send_connack(std::shared_ptr<Session> session, bool present, const ConnectOutcome& outcome) {
    const LimitsConfig& limits = _broker.limits();
    const BrokerConfig& features = _broker.config().broker;
    mqtt::Connect& c = *_rare->connect;
    const std::string& auth_reply = outcome.auth_reply;
    uint32_t session_expiry = outcome.session_expiry;
    _session = std::move(session);
    if (_session) _session_key = _session->ref.key;  // else the broker set it (a session not made yet)
    _state = State::Connected;
    _last_packet_at = Clock::now();  // no longer the moment of accept (client.hpp): keep alive starts
    _broker.recheck_client(*this);
    if (!_closed) _connection->established();

    mqtt::Connack ack;
    ack.session_present = present;
    if (_version == mqtt::ProtocolVersion::V5) {
        mqtt::Properties& out = ack.properties;
        if (_assigned_id) out.assigned_client_identifier = _client_id;
        if (limits.max_inflight < 65535) out.receive_maximum = limits.max_inflight;
        if (limits.max_packet_size < kMqttMaxPacketSize) out.maximum_packet_size = limits.max_packet_size;
        if (limits.topic_alias_maximum > 0) out.topic_alias_maximum = limits.topic_alias_maximum;
        if (features.maximum_qos < 2) out.maximum_qos = features.maximum_qos;
        if (!features.retain_available) out.retain_available = 0;
        if (!features.wildcard_subscriptions) out.wildcard_subscription_available = 0;
        if (!features.subscription_identifiers) out.subscription_identifier_available = 0;
        if (!features.shared_subscriptions) out.shared_subscription_available = 0;
        if (outcome.keep_alive_cut) out.server_keep_alive = _keep_alive;
        if (outcome.expiry_cut) out.session_expiry_interval = session_expiry;
        if (!auth_method().empty()) {
            out.authentication_method = auth_method();
            if (!auth_reply.empty()) out.authentication_data = auth_reply;
        }
    }
    send(std::move(ack));
    log::info("{} connected ({}, {}, keep alive {} s{})", describe(), version_name_for_log(),
              present         ? "session resumed"
              : c.clean_start ? "clean start"
                              : "new session",
              _keep_alive, _username ? ", user '" + *_username + "'" : std::string());
    _rare->connect.reset();
    _broker.client_connected(*this);
    _broker.hooks().on_connect(*this);
}

const char* Client::version_name_for_log() const {
    return _version == mqtt::ProtocolVersion::V5 ? "MQTT 5.0" : "MQTT 3.1.1";
}

}  // namespace roost
