#include "plugin/persistence.hpp"

#include <chrono>

#include "broker/publish_wait.hpp"
#include "plugin/plugin_host.hpp"
#include "util/log.hpp"

namespace roost {
namespace {
roost_bytes bytes_of(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

int64_t unix_ms(Clock::time_point t) {
    auto offset = std::chrono::system_clock::now().time_since_epoch() - Clock::now().time_since_epoch();
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch() + offset).count();
}

struct StoredMessage {
    std::vector<uint8_t> properties;
    roost_stored_message record{};
    explicit StoredMessage(const Message& m) : properties(encode_message_properties(m.properties)) {
        record.struct_size = sizeof record;
        record.id = m.id;
        record.topic = bytes_of(m.topic);
        record.payload = bytes_of(m.payload);
        record.qos = m.qos;
        record.retain = m.retain;
        record.expires_at_ms = m.expires_at ? unix_ms(*m.expires_at) : 0;
        record.properties = {properties.data(), properties.size()};
        record.origin_client_id = bytes_of(m.origin_client_id);
    }
};
}  // namespace

void Persistence::note_restored(const Delivery& d) {
    _refs->note_restored(d.message->id);
}

Persistence::Persistence(PluginWorker* host, StoredMessageRefs* refs) : _host(host), _refs(refs) {
    if (!host) return;
    for (auto& p : host->plugins())
        if (p->persistence) _plugins.push_back(p.get());
    set_enabled(!_plugins.empty());
    _combined = !_plugins.empty();
    _combined_delete = _combined;
    for (LoadedPlugin* p : _plugins) {
        _combined = _combined && p->persistence->message_delivery_save;
        _combined_delete = _combined_delete && p->persistence->message_delivery_delete;
    }
}

template <class Invoke>
roost_call* Persistence::run(const char* what, Invoke invoke) {
    for (LoadedPlugin* p : _plugins) {
        roost_call* call = _host->calls().create();
        roost_verdict v = invoke(*p->persistence, _host->hook_data(*p), call);
        if (v == ROOST_NEXT) continue;
        if (v == ROOST_PENDING) {
            // Failures are logged; a caller that must wait (the publish path) replaces this.
            // Two pointers, held inline by the std::function (no allocation per call); the
            // plugin outlives this worker's calls (Persistence holds `_plugins` the same way).
            _host->calls().await(call, p->name, _host->call_timeout(), [p, what](const CallResult& r) {
                if (r.timed_out || r.verdict != ROOST_ALLOW)
                    log::warn("plugin '{}' failed to store ({}{}); the broker goes on with it in memory only",
                              p->name, what, r.timed_out ? ", timed out" : "");
            });
            return call;
        }
        if (v == ROOST_DENY)
            log::warn("plugin '{}' failed to store ({}); the broker goes on with it in memory only", p->name,
                      what);
        else if (v != ROOST_ALLOW)
            log::error("plugin '{}': {} returned {}, which is not a verdict", p->name, what,
                       static_cast<int>(v));
        return nullptr;
    }
    return nullptr;
}

roost_call* Persistence::save_session(Session& s) {
    if (_plugins.empty() || s.expiry_interval == 0) return nullptr;
    s.stored = true;
    roost_session_record r{};
    r.struct_size = sizeof r;
    r.client_id = bytes_of(s.client_id);
    r.expiry_interval = s.expiry_interval;
    r.disconnected_at_ms = s.disconnected_at ? unix_ms(*s.disconnected_at) : 0;
    std::unique_ptr<StoredMessage> will;
    Message m;  // the record's bytes point into it: it lives until the hooks returned
    if (s.pending_will) {
        m.topic = s.pending_will->topic;
        m.payload = s.pending_will->payload;
        m.qos = s.pending_will->qos;
        m.retain = s.pending_will->retain;
        m.properties = s.pending_will->properties;
        will = std::make_unique<StoredMessage>(m);
        r.will = &will->record;
        r.will_due_ms = unix_ms(s.pending_will->due);
    }
    return run("session_save", [&](const roost_persistence_hooks& h, void* data, roost_call* call) {
        return h.session_save ? h.session_save(data, call, &r) : ROOST_NEXT;
    });
}

int Persistence::restore(const roost_restore_sink& sink) {
    for (LoadedPlugin* p : _plugins) {
        if (!p->persistence->restore) continue;
        if (int rc = p->persistence->restore(p->plugin_data, &sink); rc < 0) {
            log::error("plugin '{}': restore failed ({})", p->name, rc);
            return rc;
        }
    }
    return ROOST_OK;
}

void Persistence::delete_session(const std::string& client_id) {
    if (_plugins.empty()) return;
    run("session_delete", [&](const roost_persistence_hooks& h, void* data, roost_call* call) {
        return h.session_delete ? h.session_delete(data, call, bytes_of(client_id)) : ROOST_NEXT;
    });
}

roost_call* Persistence::save_subscription(const Session& s, const std::string& filter,
                                           const SubscriptionRecord& rec) {
    if (_plugins.empty() || s.expiry_interval == 0) return nullptr;
    roost_subscription_record r{};
    r.struct_size = sizeof r;
    r.client_id = bytes_of(s.client_id);
    r.filter = bytes_of(filter);
    r.qos = rec.options.qos;
    r.no_local = rec.options.no_local;
    r.retain_as_published = rec.options.retain_as_published;
    r.retain_handling = rec.options.retain_handling;
    r.subscription_id = rec.subscription_id;
    return run("subscription_save", [&](const roost_persistence_hooks& h, void* data, roost_call* call) {
        return h.subscription_save ? h.subscription_save(data, call, &r) : ROOST_NEXT;
    });
}

roost_call* Persistence::save_incoming_qos2(const Session& s, uint16_t packet_id) {
    if (_plugins.empty() || s.expiry_interval == 0) return nullptr;
    return run("incoming_qos2_save", [&](const roost_persistence_hooks& h, void* data, roost_call* call) {
        return h.incoming_qos2_save ? h.incoming_qos2_save(data, call, bytes_of(s.client_id), packet_id)
                                    : ROOST_NEXT;
    });
}

roost_call* Persistence::delete_incoming_qos2(const Session& s, uint16_t packet_id) {
    if (_plugins.empty() || s.expiry_interval == 0) return nullptr;
    return run("incoming_qos2_delete", [&](const roost_persistence_hooks& h, void* data, roost_call* call) {
        return h.incoming_qos2_delete ? h.incoming_qos2_delete(data, call, bytes_of(s.client_id), packet_id)
                                      : ROOST_NEXT;
    });
}

void Persistence::delete_subscription(const Session& s, const std::string& filter) {
    if (_plugins.empty() || s.expiry_interval == 0) return;
    run("subscription_delete", [&](const roost_persistence_hooks& h, void* data, roost_call* call) {
        return h.subscription_delete
                   ? h.subscription_delete(data, call, bytes_of(s.client_id), bytes_of(filter))
                   : ROOST_NEXT;
    });
}

roost_call* Persistence::set_retained(const Message& m) {
    if (_plugins.empty()) return nullptr;
    StoredMessage stored(m);
    return run("retained_set", [&](const roost_persistence_hooks& h, void* data, roost_call* call) {
        return h.retained_set ? h.retained_set(data, call, &stored.record) : ROOST_NEXT;
    });
}

roost_call* Persistence::store_message(const Message& m) {
    StoredMessage stored(m);
    return run("message_store", [&](const roost_persistence_hooks& h, void* data, roost_call* call) {
        return h.message_store ? h.message_store(data, call, &stored.record) : ROOST_NEXT;
    });
}

void Persistence::save_delivery(const Session& s, Delivery& d, uint16_t packet_id, roost_delivery_state state,
                                std::vector<roost_call*>* waits) {
    if (_plugins.empty() || s.expiry_interval == 0 || d.qos == 0) return;
    roost_delivery_record r{};
    r.struct_size = sizeof r;
    r.client_id = bytes_of(s.client_id);
    r.message_id = d.message->id;
    r.sequence = d.sequence;
    r.packet_id = packet_id;
    r.qos = d.qos;
    r.retain = d.retain;
    r.state = state;
    r.subscription_ids = d.subscription_ids.data();
    r.subscription_id_count = d.subscription_ids.size();
    auto add_wait = [waits](roost_call* wait) {
        if (wait && waits) waits->push_back(wait);
    };
    if (!d.persisted) {
        d.persisted = true;
        if (_refs->add_reference(d.message->id)) {
            if (_combined) {
                // The message with its first delivery: one call (and one PENDING) instead of two.
                StoredMessage stored(*d.message);
                add_wait(run("message_delivery_save",
                             [&](const roost_persistence_hooks& h, void* data, roost_call* call) {
                                 return h.message_delivery_save(data, call, &stored.record, &r);
                             }));
                return;
            }
            // Stored before the delivery that names it: a plugin's calls on one worker keep their order.
            add_wait(store_message(*d.message));
        }
    }
    add_wait(run("delivery_save", [&](const roost_persistence_hooks& h, void* data, roost_call* call) {
        return h.delivery_save ? h.delivery_save(data, call, &r) : ROOST_NEXT;
    }));
}

void Persistence::delete_delivery_of(const std::string& client_id, const Delivery& d) {
    if (_plugins.empty() || !d.persisted) return;
    uint64_t id = d.message->id;
    if (_combined_delete) {
        // The delivery with, if it was the last reference, its message: one call instead of two.
        int release = _refs->drop_reference(id) ? 1 : 0;
        run("message_delivery_delete", [&](const roost_persistence_hooks& h, void* data, roost_call* call) {
            return h.message_delivery_delete(data, call, bytes_of(client_id), d.sequence, id, release);
        });
        if (release) _refs->finish_release(id);
        return;
    }
    run("delivery_delete", [&](const roost_persistence_hooks& h, void* data, roost_call* call) {
        return h.delivery_delete ? h.delivery_delete(data, call, bytes_of(client_id), d.sequence)
                                 : ROOST_NEXT;
    });
    release_message(d);
}

void Persistence::release_message(const Delivery& d) {
    uint64_t id = d.message->id;
    if (!_refs->drop_reference(id)) return;
    run("message_release", [&](const roost_persistence_hooks& h, void* data, roost_call* call) {
        return h.message_release ? h.message_release(data, call, id) : ROOST_NEXT;
    });
    _refs->finish_release(id);
}

void Persistence::end_session(const Session& s) {
    if (_plugins.empty()) return;
    // session_delete takes the session's subscriptions and deliveries with it; what is left to
    // say is which stored messages nothing refers to any more. A session never stored has no
    // record to delete (and, expiry 0 all its life, no stored deliveries either).
    if (s.stored) delete_session(s.client_id);
    for (const Delivery& d : s.queue)
        if (d.persisted) release_message(d);
    for (const auto& [id, out] : s.inflight)
        if (out.delivery.persisted) release_message(out.delivery);
}

void Persistence::when_done(std::vector<roost_call*> calls,
                            std::function<void(bool ok, uint8_t reason)> done) {
    if (calls.empty()) return done(true, 0);
    if (calls.size() == 1) {
        _host->calls().await(calls[0], {}, _host->call_timeout(),
                             [done = std::move(done)](const CallResult& r) {
                                 bool ok = !r.timed_out && r.verdict == ROOST_ALLOW;
                                 done(ok, ok || r.timed_out ? 0 : r.reason_code);
                             });
        return;
    }
    struct Barrier {
        size_t left;
        bool ok = true;
        uint8_t reason = 0;
        std::function<void(bool, uint8_t)> done;
    };
    auto barrier = std::make_shared<Barrier>(Barrier{calls.size(), true, 0, std::move(done)});
    for (roost_call* call : calls) {
        // Each call was awaited by run() already: this replaces its resume, name and deadline stay.
        _host->calls().await(call, {}, _host->call_timeout(), [barrier](const CallResult& r) {
            if (r.timed_out || r.verdict != ROOST_ALLOW) {
                barrier->ok = false;
                if (!r.timed_out && r.reason_code) barrier->reason = r.reason_code;
            }
            if (--barrier->left == 0) barrier->done(barrier->ok, barrier->reason);
        });
    }
}

void Persistence::join(const std::vector<roost_call*>& calls, const std::shared_ptr<PublishWait>& wait) {
    for (roost_call* call : calls) {
        wait->hold();
        // Each call was awaited by run() already: this replaces its resume, name and deadline stay.
        _host->calls().await(call, {}, _host->call_timeout(),
                             [wait, here = &_host->inbox()](const CallResult& r) {
                                 bool ok = !r.timed_out && r.verdict == ROOST_ALLOW;
                                 wait->release_on(*here, ok, ok || r.timed_out ? 0 : r.reason_code);
                             });
    }
}

}  // namespace roost
