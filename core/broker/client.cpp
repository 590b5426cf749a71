#include "broker/client.hpp"

#include <new>

#include "broker/broker.hpp"
#include "mqtt/encoder.hpp"
#include "util/log.hpp"

namespace roost {
namespace {
constexpr size_t kMaxBufferedWhileWaiting = 1024 * 1024;
// Fairness (issue 12, item 3): what one client may have handled per loop turn before the other
// connections of its worker get theirs. The rest waits in the decoder for a later turn.
constexpr size_t kPacketsPerTurn = 64;
constexpr size_t kBytesPerTurn = 256 * 1024;
// Retained messages one SUBSCRIBE matched, sent per loop turn (they cost less than a packet read).
constexpr size_t kRetainedPerTurn = 256;
// Payloads from this size on are not copied into each subscriber's output: the connection
// queues a small per-subscriber head and a reference to the shared message's payload, written
// from where it is (net::OutputQueue). Below it, one copy beats a reference count and a slice.
constexpr size_t kSharePayloadFrom = 4096;
// Under the global output bound, a client with at least this much unsent is not read either.
constexpr size_t kBacklogUnderGlobalBound = 64 * 1024;
// The encoding of the packet being sent: one buffer per worker thread, not one per client, since
// each packet is written to its connection (which copies it) right after it is encoded.
std::vector<uint8_t>& encode_buffer() {
    thread_local std::vector<uint8_t> buffer;
    buffer.clear();
    return buffer;
}

// A PUBLISH whose payload is written from the shared message (kSharePayloadFrom): its head is
// encoded for this subscriber, the payload referenced. Out of line, so that send_publish's
// small-message path stays as lean as it was. Returns the bytes queued.
[[gnu::noinline]] size_t write_shared_payload(net::Connection& connection, const MessagePtr& message,
                                              const mqtt::PublishView& view, mqtt::ProtocolVersion version) {
    std::vector<uint8_t>& head = encode_buffer();
    mqtt::encode_publish_head(view, version, head);
    // The reference keeps the whole message (so its payload) alive until written.
    const auto* payload = reinterpret_cast<const uint8_t*>(message->payload.data());
    const size_t size = message->payload.size();
    connection.write(head, net::SharedBytes{std::shared_ptr<const void>(message, payload), {payload, size}});
    return head.size() + size;
}
}  // namespace

Client::Client(Broker& broker, net::Connection* connection, const ListenerConfig& listener)
    : _broker(broker),
      _connection(connection),
      _listener(listener),
      _decoder(&broker.decode_limits()),
      _last_packet_at(Clock::now()) {
    _broker.hooks().client_created(*this);
}

void Client::report_disconnect(uint8_t reason_code) {
    if (_state != State::Connected || _disconnect_reported) return;
    _disconnect_reported = true;
    _broker.hooks().on_disconnect(*this, reason_code);
}

std::string Client::describe() const {
    if (_client_id.empty()) return "connection from " + address();
    return "client '" + _client_id + "' (" + address() + ")";
}

void Client::on_data(std::span<const uint8_t> bytes) {
    _broker.stats().bytes_received += bytes.size();
    // Until CONNECT is accepted, the field keeps the moment of accept(): the CONNECT timeout
    // counts from there, however the bytes trickle in.
    if (_state != State::AwaitingConnect) _last_packet_at = Clock::now();
    if (_state == State::AwaitingConnect && _decoder.buffered() == 0 && !bytes.empty() &&
        (bytes[0] >> 4) != 1) {
        // Spec 3.1.0-1: the first packet must be CONNECT. Judged on the type alone, before the
        // body is decoded with a protocol version the client never announced.
        log::warn("{}: protocol error: first packet was {}, not CONNECT; closing", describe(),
                  mqtt::packet_type_name(static_cast<mqtt::PacketType>(bytes[0] >> 4)));
        _connection->close("first packet was not CONNECT");
        return;
    }
    // Packets are decoded straight from the read buffer; what is left when process() stops (a
    // partial packet, or the rest of a budget-limited batch) is copied by keep().
    _decoder.feed_borrowed(bytes);
    // While a plugin's answer is awaited, what the client sends waits in the decoder; past a
    // bound, reading stops (and so does the client, by TCP flow control) until the answer.
    if ((waiting() || acks_full()) && _decoder.buffered() > kMaxBufferedWhileWaiting)
        _connection->pause_reading();
    process_guarded();
}

void Client::process_guarded() {
    try {
        process();
        _decoder.keep();
    } catch (const std::bad_alloc&) {
        log::limit("memory", "{}: out of memory while handling its packets ({} bytes buffered); closing",
                   describe(), _decoder.buffered());
        _decoder.discard();
        if (_rare) {
            _rare->subscribing.reset();
            _rare->publish_waiting.reset();
        }
        if (!_closed) _connection->close("out of memory");
    }
}

void Client::on_resume() {
    if (_keep_alive_check) {
        // The timer saw no bytes for too long; this turn's I/O has run since, so bytes waiting in
        // the socket (behind a stall of the worker) have been counted by now.
        check_timeouts(Clock::now());  // with the flag set: a timeout still there disconnects
        _keep_alive_check = false;
        if (closing()) return;
    }
    process_guarded();
}

bool Client::output_over_limit() const {
    const size_t backlog = _connection->backlog();
    if (backlog > _broker.limits().max_output_buffer) return true;
    const uint64_t global = net::limits().max_total_output;
    return global != 0 && backlog >= kBacklogUnderGlobalBound && net::total_output() > global;
}

void Client::process() {
    mqtt::Packet packet;
    mqtt::DecodeError error;
    size_t packets = 0;
    const size_t start = _decoder.buffered();
    while (!closing() && !waiting() && !acks_full()) {
        // Retained messages of the last SUBSCRIBE go out before the next packet is handled.
        if (_rare && _rare->retained_backlog && !send_retained_backlog(packets)) break;
        if (_decoder.buffered() == 0) break;
        if (packets >= kPacketsPerTurn || start - std::min(start, _decoder.buffered()) >= kBytesPerTurn) {
            _connection->defer();  // the rest in a later loop turn
            break;
        }
        if (output_over_limit()) {
            log::limit("max_output_buffer",
                       "{}: {} bytes unsent, over [limits] max_output_buffer = {} (or the global "
                       "max_total_output_buffer): not reading from it until it reads",
                       describe(), _connection->backlog(), _broker.limits().max_output_buffer);
            _connection->pause_until_drained();
            break;
        }
        mqtt::DecodeStatus status = _decoder.next(packet, error);
        if (status == mqtt::DecodeStatus::NeedMore) break;
        if (status == mqtt::DecodeStatus::Error) {
            if (_state == State::AwaitingConnect) {
                refuse_malformed_connect(error);
            } else {
                protocol_error(error.reason, error.message);
            }
            break;
        }
        ++packets;
        handle(packet);
    }
    trim_rare();  // the states of a finished CONNECT, SUBSCRIBE or ACL wait leave with their box
}

bool Client::send_retained_backlog(size_t& packets) {
    std::deque<RetainedBatch>& backlog = *_rare->retained_backlog;
    while (!backlog.empty()) {
        RetainedBatch& batch = backlog.front();
        for (; batch.next < batch.messages.size(); ++batch.next) {
            if (closing() || !_session) return false;
            if (output_over_limit()) {
                // Not dropped, as QoS 0 messages past the bound are: the client asked for these,
                // and they wait for it to read (on_resume when the output is written).
                _connection->pause_until_drained();
                return false;
            }
            if (packets >= kRetainedPerTurn) {
                _connection->defer();  // the rest in a later loop turn, after the other clients
                return false;
            }
            MessagePtr& m = batch.messages[batch.next];
            uint8_t qos = std::min(m->qos, batch.record.options.qos);
            Delivery d{std::move(m), qos, true, {}};
            if (batch.record.subscription_id != 0) d.subscription_ids.push_back(batch.record.subscription_id);
            _broker.deliver(*_session, std::move(d));
            ++packets;
        }
        backlog.pop_front();
    }
    _rare->retained_backlog.reset();
    return true;
}

void Client::wait_for(std::shared_ptr<PendingToken> token) {
    rare().pending = std::move(token);
}

void Client::resume_after_wait() {
    if (_rare) _rare->pending.reset();
    if (!_closed) _connection->resume_reading();
}

void Client::on_closed(const std::string& reason) {
    _closed = true;
    if (waiting()) _broker.hooks().cancel(*_rare->pending);
    if (acks()) acks()->alive->cancelled = true;
    if (_rare && _rare->subscribing)
        for (auto& token : _rare->subscribing->tokens)
            if (token) _broker.hooks().cancel(*token);
    report_disconnect(_disconnect_reason);
    if (_state == State::Connected)
        log::info("{} disconnected: {}", describe(), reason);
    else
        log::debug("{} closed before CONNECT completed: {}", describe(), reason);
    _broker.client_closed(*this, reason);
    // The last hook that names this client, on every path (refused, taken over, lost, shutdown).
    _broker.hooks().client_released(*this);
    delete this;
}

void Client::handle(mqtt::Packet& packet) {
    if (_state == State::Authenticating) {
        if (auto* auth = std::get_if<mqtt::Auth>(&packet)) return handle_auth(*auth);
        if (auto* d = std::get_if<mqtt::Disconnect>(&packet)) return handle_disconnect(*d);
        return protocol_error(
            mqtt::ReasonCode::ProtocolError,
            fmt::format("{} during authentication", mqtt::packet_type_name(mqtt::packet_type(packet))));
    }
    if (_state == State::AwaitingConnect) {
        if (auto* connect = std::get_if<mqtt::Connect>(&packet)) {
            handle_connect(*connect);
        } else {
            log::warn("{}: protocol error: first packet was {}, not CONNECT; closing", describe(),
                      mqtt::packet_type_name(mqtt::packet_type(packet)));
            _connection->close("first packet was not CONNECT");
        }
        return;
    }
    std::visit(
        [this](auto& p) {
            using T = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<T, mqtt::Publish>)
                handle_publish(p);
            else if constexpr (std::is_same_v<T, mqtt::Ack>)
                handle_ack(p);
            else if constexpr (std::is_same_v<T, mqtt::Subscribe>)
                handle_subscribe(p);
            else if constexpr (std::is_same_v<T, mqtt::Unsubscribe>)
                handle_unsubscribe(p);
            else if constexpr (std::is_same_v<T, mqtt::Pingreq>)
                send(mqtt::Pingresp{});
            else if constexpr (std::is_same_v<T, mqtt::Disconnect>)
                handle_disconnect(p);
            else if constexpr (std::is_same_v<T, mqtt::Auth>)
                handle_auth(p);
            else if constexpr (std::is_same_v<T, mqtt::Connect>)
                protocol_error(mqtt::ReasonCode::ProtocolError, "second CONNECT on one connection");
            else
                protocol_error(mqtt::ReasonCode::ProtocolError, "received a packet only a server may send");
        },
        packet);
}

void Client::protocol_error(mqtt::ReasonCode reason, const std::string& why) {
    log::warn("{}: {}; disconnecting ({})", describe(), why, mqtt::reason_name(reason));
    disconnect(reason, why);
}

void Client::disconnect(mqtt::ReasonCode reason, const std::string& why) {
    if (closing()) return;
    _disconnect_reason = static_cast<uint8_t>(reason);
    if (_version == mqtt::ProtocolVersion::V5 && _state == State::Connected) {
        mqtt::Disconnect d;
        d.reason_code = static_cast<uint8_t>(reason);
        if (_request_problem_information && !why.empty()) d.properties.reason_string = why;
        send(d);
    }
    _connection->close_after_flush(why);
}

void Client::refuse_malformed_connect(const mqtt::DecodeError& error) {
    // The answer follows the version the CONNECT announced. MQTT 5 (spec 3.1.4-1, 4.13.1): a
    // CONNACK with the reason (0x80 or above), then close. 3.1.1 (3.2.2-6) has a 2-byte CONNACK
    // with return codes 1 to 5 only: an unknown level gets 0x01 (3.1.2-2), a client id it
    // rejects 0x02 (3.1.3-8); every other rule broken ends in a close without a CONNACK
    // (3.1.4-1). A CONNECT cut off before its protocol level announced nothing: close too.
    log::warn("{}: refused CONNECT: {} ({})", describe(), error.message, mqtt::reason_name(error.reason));
    if (_decoder.version_known()) {
        _version = _decoder.version();
        if (_version == mqtt::ProtocolVersion::V5) {
            mqtt::Connack connack;
            connack.reason_code = static_cast<uint8_t>(error.reason);
            connack.properties.reason_string = error.message;
            send(connack);
        } else if (error.reason == mqtt::ReasonCode::UnsupportedProtocolVersion ||
                   error.reason == mqtt::ReasonCode::ClientIdentifierNotValid) {
            send(mqtt::Connack{false, static_cast<uint8_t>(error.reason), {}});
        }
    }
    _connection->close_after_flush(error.message);
}

void Client::refuse_connect(mqtt::ReasonCode reason, const std::string& why) {
    // Rate limited (a malformed CONNECT above is not: it is a client's bug, each worth a line): a
    // fleet with a wrong password, reconnecting in a loop, must not flood the log.
    log::limit("refused_connect", "{}: refused CONNECT: {} ({})", describe(), why, mqtt::reason_name(reason));
    mqtt::Connack connack;
    connack.reason_code = static_cast<uint8_t>(reason);
    if (_version == mqtt::ProtocolVersion::V5) connack.properties.reason_string = why;
    send(connack);
    _connection->close_after_flush(why);
}

void Client::send(const mqtt::Packet& packet) {
    if (closing()) return;
    std::vector<uint8_t>& out = encode_buffer();
    mqtt::encode(packet, _version, out);
    if (out.size() > _client_maximum_packet_size && _version == mqtt::ProtocolVersion::V5 &&
        !std::holds_alternative<mqtt::Publish>(packet)) {
        // Spec 3.1.2.25: reason strings and user properties are the parts to leave out.
        mqtt::Packet trimmed = packet;
        std::visit(
            [](auto& p) {
                if constexpr (requires { p.properties; }) {
                    p.properties.reason_string.reset();
                    p.properties.user_properties.clear();
                }
            },
            trimmed);
        out.clear();
        mqtt::encode(trimmed, _version, out);
    }
    write_encoded(out);
}

void Client::write_encoded(std::vector<uint8_t>& bytes) {
    _broker.stats().bytes_sent += bytes.size();
    _connection->write(bytes);
    // The buffer is reused for every packet, so it keeps the capacity of the largest one sent:
    // after one 6 MiB message the worker would hold 6 MiB for good.
    if (bytes.capacity() > kKeepEncodeCapacity) std::vector<uint8_t>().swap(bytes);
}

bool Client::send_publish(const Delivery& delivery, uint16_t packet_id, bool dup) {
    if (closing()) return false;
    const Message& m = *delivery.message;
    if (!_broker.hooks().deliver_allowed(*this, m, delivery.qos, delivery.retain) || closing()) {
        log::debug("{}: delivery of a message on '{}' denied by an ACL plugin", describe(), m.topic);
        return false;
    }
    // A client that reads slower than QoS 0 messages arrive: past its output bound further QoS 0
    // messages to it are dropped rather than buffered. QoS 1/2 are bounded by the receive window
    // and the session queue instead.
    if (delivery.qos == 0 && output_over_limit()) {
        log::limit("max_output_buffer",
                   "{}: QoS 0 message on '{}' dropped: {} bytes unsent, over [limits] "
                   "max_output_buffer = {} (or the global max_total_output_buffer)",
                   describe(), m.topic, _connection->backlog(), _broker.limits().max_output_buffer);
        ++_broker.stats().messages_dropped;
        return false;
    }
    // Encoded straight from the shared message (no copy of it per subscriber); the common variant
    // of a small message is encoded once per worker and message (PublishEncodingCache), then
    // copied to each output; a large payload is not copied at all (kSharePayloadFrom).
    mqtt::PublishView p{dup, delivery.qos, delivery.retain, m.topic, packet_id, nullptr, m.payload};
    // MQTT 5: the message's properties, encoded from the shared message, with what is per
    // subscriber put in their place (never a copy of the message's user properties per delivery).
    mqtt::PublishExtras properties;
    if (_version == mqtt::ProtocolVersion::V5) {
        properties.subscription_identifiers = &delivery.subscription_ids;
        if (m.expires_at) {
            auto left = std::chrono::ceil<std::chrono::seconds>(*m.expires_at - Clock::now()).count();
            if (left <= 0) {
                // Expiry stops a message that has not started onward delivery (spec 3.3.2-5);
                // a resend (dup) is one already in flight to this client, which must go again
                // on resume (4.4.0-1). Its remaining lifetime (3.3.2-6) is then nothing: 1 s
                // says so. Leaving the property out would say "never expires" to a client that
                // passes it on, and 0 some implementations read as "no expiry"; 1 is also what
                // the rounding up above sends for any fraction of a second left.
                if (!dup) {
                    ++_broker.stats().messages_dropped;
                    return false;
                }
                left = 1;
            }
            properties.message_expiry_interval = static_cast<uint32_t>(left);
        }
        p.properties = &m.properties;
        p.extras = &properties;
    }
    uint16_t new_alias = 0;  // an alias this PUBLISH sets up, recorded only if it is sent
    if (_client_topic_alias_maximum > 0) {
        if (!rare().aliases) _rare->aliases.emplace();
        // Aliases go to the first topics sent, up to the client's maximum, and stay for the
        // connection: repeated topics then cost two bytes instead of their length.
        if (auto it = _rare->aliases->out.find(m.topic); it != _rare->aliases->out.end()) {
            properties.topic_alias = it->second;
            p.topic = {};
        } else if (_rare->aliases->out.size() < _client_topic_alias_maximum) {
            new_alias = static_cast<uint16_t>(_rare->aliases->out.size() + 1);
            properties.topic_alias = new_alias;
        }
    }
    // Spec 3.1.2-24: the limit is on the packet as sent, topic alias included. Setting up a new
    // alias costs 3 bytes: where those make the difference, the message goes without one.
    size_t size = mqtt::encoded_publish_size(p, _version);
    if (size > _client_maximum_packet_size && new_alias != 0) {
        properties.topic_alias.reset();
        new_alias = 0;
        size = mqtt::encoded_publish_size(p, _version);
    }
    if (size > _client_maximum_packet_size) {
        log::debug("{}: dropped a {} byte message on '{}': over the client's Maximum Packet Size {}",
                   describe(), m.payload.size(), m.topic, _client_maximum_packet_size);
        ++_broker.stats().messages_dropped;
        return false;
    }
    if (new_alias != 0) _rare->aliases->out.emplace(m.topic, new_alias);
    ++_broker.stats().messages_sent;
    if (m.payload.size() >= kSharePayloadFrom) {
        _broker.stats().bytes_sent += write_shared_payload(*_connection, delivery.message, p, _version);
        return true;
    }
    if (!properties.topic_alias && delivery.subscription_ids.empty() &&
        size <= PublishEncodingCache::kMaxCached) {
        std::span<const uint8_t> bytes = _broker.encoding_cache().encode(delivery.message, p, _version);
        _broker.stats().bytes_sent += bytes.size();
        _connection->write(bytes);
        return true;
    }
    std::vector<uint8_t>& out = encode_buffer();
    mqtt::encode_publish(p, _version, out);
    write_encoded(out);
    return true;
}

Clock::time_point Client::keep_alive_due() const {
    if (closing() || _state == State::AwaitingConnect || _keep_alive == 0) return Clock::time_point::max();
    return _last_packet_at + std::chrono::milliseconds(_keep_alive * 1500);
}

Clock::time_point Client::next_check(Clock::time_point now) const {
    if (closing()) return Clock::time_point::max();
    Clock::time_point at = keep_alive_due();
    if (_state == State::AwaitingConnect)
        at = _last_packet_at + std::chrono::seconds(_broker.limits().connect_timeout);
    if (_connection->write_waiting()) {
        const uint64_t limit = uint64_t{_broker.limits().send_timeout} * 1000;
        const uint64_t stalled = std::min(_connection->write_stalled_ms(), limit);
        at = std::min(at, now + std::chrono::milliseconds(limit - stalled));
    }
    // A millisecond past it: each limit is on "more than".
    return at == Clock::time_point::max() ? at : at + std::chrono::milliseconds(1);
}

void Client::on_write_waiting() {
    if (!_closed) _broker.recheck_client(*this);
}

void Client::check_timeouts(Clock::time_point now) {
    if (closing()) return;
    if (uint64_t stalled = _connection->write_stalled_ms();
        stalled > uint64_t{_broker.limits().send_timeout} * 1000) {
        log::limit("send_timeout",
                   "{}: has not read what it was sent for {} s ([limits] send_timeout = {}); closing",
                   describe(), stalled / 1000, _broker.limits().send_timeout);
        _connection->close("send timeout");
        return;
    }
    if (_state == State::AwaitingConnect) {
        // A transport may answer before any CONNECT: the ws plugin serves static files on its
        // port. While such an answer is still being written (a stall is send_timeout's, above),
        // the wait for CONNECT starts again: a page loads over a slow link however long it takes.
        if (_connection->backlog() > 0) {
            _last_packet_at = now;
            return;
        }
        const auto timeout = std::chrono::seconds(_broker.limits().connect_timeout);
        if (now - _last_packet_at > timeout) {  // accepted at, while awaiting CONNECT
            // Which transport, and whether a CONNECT had begun, tell a slow client from a
            // silent one (a WebSocket client that never finished its upgrade passed up nothing).
            log::warn(
                "{}: no CONNECT within {} s ([limits] connect_timeout; transport {}, {} bytes of MQTT "
                "received); closing",
                describe(), timeout.count(), _connection->transport_name(), _decoder.buffered());
            _connection->close("no CONNECT in time");
        }
        return;
    }
    if (_keep_alive == 0) return;
    // Spec 3.1.2.10: one and a half times the keep alive without a packet ends the connection.
    auto limit = std::chrono::milliseconds(_keep_alive * 1500);
    if (now - _last_packet_at > limit) {
        if (!_keep_alive_check) {
            // Judged again after this loop turn's I/O (on_resume), not here before it: after a
            // stall of the worker, bytes the client sent in time may still wait in the socket.
            _keep_alive_check = true;
            _connection->defer(false);
            return;
        }
        // One line, "disconnected: <why>" as the connection closes (on_closed).
        std::string why =
            fmt::format("keep alive timeout (no packet for {} ms; keep alive {} s allows {} ms)",
                        std::chrono::duration_cast<std::chrono::milliseconds>(now - _last_packet_at).count(),
                        _keep_alive, limit.count());
        disconnect(mqtt::ReasonCode::KeepAliveTimeout, why);
    }
}

Session& Client::ensure_session() {
    if (!_session) _broker.make_session(*this);
    return *_session;
}

void Client::handle_disconnect(const mqtt::Disconnect& d) {
    _disconnect_reason = d.reason_code;
    // A connected client without a Session has a session that ends with the connection (expiry 0).
    const bool sessionless = !_session && connected() && _session_key != 0;
    if (_version == mqtt::ProtocolVersion::V5 && d.properties.session_expiry_interval &&
        (_session || sessionless)) {
        // Spec 3.14.2.2.2: a session that was to end with the connection cannot be made to last.
        if ((sessionless || _session->expiry_interval == 0) && *d.properties.session_expiry_interval != 0) {
            protocol_error(mqtt::ReasonCode::ProtocolError,
                           "DISCONNECT sets a Session Expiry Interval after CONNECT set 0");
            return;
        }
        if (_session)
            _session->expiry_interval =
                std::min(*d.properties.session_expiry_interval, _broker.limits().max_session_expiry);
    }
    // Spec 3.1.2-8, 3.1.2-10, 3.14.4-3: only a normal disconnection (0x00, and every 3.1.1
    // DISCONNECT) deletes the will. 0x04 asks for it; any other reason reports an error on the
    // client's side, which is what the will is for.
    if (d.reason_code == static_cast<uint8_t>(mqtt::ReasonCode::Success)) _will.reset();
    std::string why = d.reason_code == 0
                          ? "client sent DISCONNECT"
                          : fmt::format("client sent DISCONNECT ({})",
                                        mqtt::reason_name(static_cast<mqtt::ReasonCode>(d.reason_code)));
    _connection->close(why);
}

}  // namespace roost
