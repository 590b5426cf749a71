// snapshot_store: a persistence plugin in C++17 that keeps stored sessions, their subscriptions,
// their queued and in-flight QoS 1/2 messages and the retained messages in memory, writes them to
// one file when the broker stops, and hands them back (restore) when it starts again.
//
// It survives a clean stop (SIGTERM, SIGINT), not a crash: whatever changed since the last start
// is only in memory until then. A store that must survive kill -9 writes before it acknowledges
// (answer PENDING and complete once the write is durable): plugins/sqlite does that.
//
// What it shows of the contract (sdk/README.md, "Persistence"):
//  - persistence hooks are not wrapped by roost/plugin.hpp: the constructor fills the C table
//    and registers it; every hook gets this instance as its worker_data;
//  - hooks run on every worker at once: one mutex guards the maps;
//  - every store hook answers ALLOW at once (stored in memory), so nothing waits;
//  - session_delete may name a client id this store lacks (a failed save): erasing nothing is fine;
//  - restore() hands records back by kind: messages, retained, sessions, then what belongs to
//    the sessions (subscriptions, deliveries, incoming QoS 2 ids).
//
// Options: file = "roost-snapshot.bin" (relative to the directory roost runs in).
#include <roost/plugin.hpp>

#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

std::string copy(roost_bytes b) {
    return roost::bytes_view(b).to_string();
}
roost_bytes view(const std::string& s) {
    return roost::bytes_view(s);
}

// Each record keeps its own copies: what the host passes is borrowed until the hook returns.
struct message {
    uint64_t id = 0;
    std::string topic, payload, properties, origin;
    uint64_t qos = 0, retain = 0;
    int64_t expires_at_ms = 0;

    message() = default;
    explicit message(const roost_stored_message& m)
        : id(m.id),
          topic(copy(m.topic)),
          payload(copy(m.payload)),
          properties(copy(m.properties)),
          origin(copy(m.origin_client_id)),
          qos(m.qos),
          retain(m.retain),
          expires_at_ms(m.expires_at_ms) {}
    // A view for the restore sink, valid while this message lives.
    roost_stored_message record() const {
        roost_stored_message m{};
        m.struct_size = sizeof m;
        m.id = id;
        m.topic = view(topic);
        m.payload = view(payload);
        m.qos = static_cast<uint8_t>(qos);
        m.retain = static_cast<uint8_t>(retain);
        m.expires_at_ms = expires_at_ms;
        m.properties = view(properties);  // an MQTT 5 property block: kept as it came
        m.origin_client_id = view(origin);
        return m;
    }
};

struct session {
    std::string client_id;
    uint64_t expiry = 0;
    int64_t disconnected_at_ms = 0, will_due_ms = 0;
    bool has_will = false;
    message will;
};

struct subscription {
    std::string client_id, filter;
    uint64_t qos = 0, no_local = 0, retain_as_published = 0, retain_handling = 0, id = 0;
};

struct delivery {
    std::string client_id;
    uint64_t message_id = 0, sequence = 0, packet_id = 0, qos = 0, retain = 0, state = 0;
    std::vector<uint32_t> subscription_ids;
};

// The snapshot file: a magic line, then each table as a count and its records, every number as
// 8 bytes and every string as its length and bytes. Written to file.tmp, then renamed over file.
constexpr char kMagic[] = "roost-snapshot-1\n";

class file_writer {
  public:
    explicit file_writer(FILE* f) : _f(f) {}
    void num(uint64_t v) { std::fwrite(&v, sizeof v, 1, _f); }
    void str(const std::string& s) {
        num(s.size());
        std::fwrite(s.data(), 1, s.size(), _f);
    }
    void msg(const message& m) {
        num(m.id);
        str(m.topic);
        str(m.payload);
        str(m.properties);
        str(m.origin);
        num(m.qos);
        num(m.retain);
        num(static_cast<uint64_t>(m.expires_at_ms));
    }

  private:
    FILE* _f;
};

class file_reader {
  public:
    explicit file_reader(FILE* f) : _f(f) {}
    bool ok() const { return _ok; }
    uint64_t num() {
        uint64_t v = 0;
        if (std::fread(&v, sizeof v, 1, _f) != 1) _ok = false;
        return v;
    }
    std::string str() {
        uint64_t n = num();
        if (!_ok || n > (1u << 28)) {  // 256 MiB: more is a damaged file, not a packet
            _ok = false;
            return {};
        }
        std::string s(n, '\0');
        if (n != 0 && std::fread(&s[0], 1, n, _f) != n) _ok = false;
        return s;
    }
    message msg() {
        message m;
        m.id = num();
        m.topic = str();
        m.payload = str();
        m.properties = str();
        m.origin = str();
        m.qos = num();
        m.retain = num();
        m.expires_at_ms = static_cast<int64_t>(num());
        return m;
    }

  private:
    FILE* _f;
    bool _ok = true;
};

class snapshot_store : public roost::plugin<snapshot_store> {
  public:
    explicit snapshot_store(const roost::options& options)
        : _file(options.get_or("file", "roost-snapshot.bin")) {
        roost_persistence_hooks h{};  // zeroed: a hook left out is NULL, and the host skips it
        h.struct_size = sizeof h;
        h.restore = restore;
        h.session_save = session_save;
        h.session_delete = session_delete;
        h.subscription_save = subscription_save;
        h.subscription_delete = subscription_delete;
        h.message_store = message_store;
        h.message_release = message_release;
        h.delivery_save = delivery_save;
        h.delivery_delete = delivery_delete;
        h.retained_set = retained_set;
        h.incoming_qos2_save = incoming_qos2_save;
        h.incoming_qos2_delete = incoming_qos2_delete;
        if (int rc = host()->hook_register(self(), ROOST_HOOK_PERSISTENCE, &h); rc != ROOST_OK)
            throw std::runtime_error(std::string("hook_register: ") + host()->strerror(rc));
        log(ROOST_LOG_INFO, "keeps its snapshot in %s", _file.c_str());
    }

    // roost_plugin_cleanup: every worker has stopped, so every last save and delete is in.
    ~snapshot_store() { save(); }

  private:
    static snapshot_store& of(void* data) { return *static_cast<snapshot_store*>(data); }

    void save() {
        std::lock_guard<std::mutex> lock(_mutex);
        std::string tmp = _file + ".tmp";
        FILE* f = std::fopen(tmp.c_str(), "wb");
        if (f == nullptr) {
            log(ROOST_LOG_ERROR, "cannot write %s: the stored state is lost", tmp.c_str());
            return;
        }
        file_writer w(f);
        std::fputs(kMagic, f);
        w.num(_messages.size());
        for (const auto& [id, m] : _messages)
            w.msg(m);
        w.num(_retained.size());
        for (const auto& [topic, m] : _retained)
            w.msg(m);
        w.num(_sessions.size());
        for (const auto& [id, s] : _sessions) {
            w.str(s.client_id);
            w.num(s.expiry);
            w.num(static_cast<uint64_t>(s.disconnected_at_ms));
            w.num(static_cast<uint64_t>(s.will_due_ms));
            w.num(s.has_will);
            if (s.has_will) w.msg(s.will);
        }
        w.num(_subscriptions.size());
        for (const auto& [key, s] : _subscriptions) {
            w.str(s.client_id);
            w.str(s.filter);
            for (uint64_t v : {s.qos, s.no_local, s.retain_as_published, s.retain_handling, s.id})
                w.num(v);
        }
        w.num(_deliveries.size());
        for (const auto& [key, d] : _deliveries) {
            w.str(d.client_id);
            for (uint64_t v : {d.message_id, d.sequence, d.packet_id, d.qos, d.retain, d.state})
                w.num(v);
            w.num(d.subscription_ids.size());
            for (uint32_t id : d.subscription_ids)
                w.num(id);
        }
        w.num(_incoming_qos2.size());
        for (const auto& [client_id, packet_id] : _incoming_qos2) {
            w.str(client_id);
            w.num(packet_id);
        }
        bool written = std::ferror(f) == 0;
        written = std::fclose(f) == 0 && written;
        if (!written || std::rename(tmp.c_str(), _file.c_str()) != 0) {
            log(ROOST_LOG_ERROR, "cannot write %s: the stored state is lost", _file.c_str());
            return;
        }
        log(ROOST_LOG_INFO, "saved %zu sessions, %zu subscriptions, %zu deliveries, %zu retained to %s",
            _sessions.size(), _subscriptions.size(), _deliveries.size(), _retained.size(), _file.c_str());
    }

    // Reads the file into the maps; false (after logging why) for a damaged file.
    bool load() {
        FILE* f = std::fopen(_file.c_str(), "rb");
        if (f == nullptr) return true;  // the first start: nothing stored yet
        char magic[sizeof kMagic] = {};
        bool ok =
            std::fread(magic, 1, sizeof kMagic - 1, f) == sizeof kMagic - 1 && std::string(magic) == kMagic;
        file_reader r(f);
        for (uint64_t n = ok ? r.num() : 0; r.ok() && n > 0; --n) {
            message m = r.msg();
            _messages[m.id] = m;
        }
        for (uint64_t n = ok ? r.num() : 0; r.ok() && n > 0; --n) {
            message m = r.msg();
            _retained[m.topic] = m;
        }
        for (uint64_t n = ok ? r.num() : 0; r.ok() && n > 0; --n) {
            session s;
            s.client_id = r.str();
            s.expiry = r.num();
            s.disconnected_at_ms = static_cast<int64_t>(r.num());
            s.will_due_ms = static_cast<int64_t>(r.num());
            s.has_will = r.num() != 0;
            if (s.has_will) s.will = r.msg();
            _sessions[s.client_id] = s;
        }
        for (uint64_t n = ok ? r.num() : 0; r.ok() && n > 0; --n) {
            subscription s;
            s.client_id = r.str();
            s.filter = r.str();
            for (uint64_t* v : {&s.qos, &s.no_local, &s.retain_as_published, &s.retain_handling, &s.id})
                *v = r.num();
            _subscriptions[{s.client_id, s.filter}] = s;
        }
        for (uint64_t n = ok ? r.num() : 0; r.ok() && n > 0; --n) {
            delivery d;
            d.client_id = r.str();
            for (uint64_t* v : {&d.message_id, &d.sequence, &d.packet_id, &d.qos, &d.retain, &d.state})
                *v = r.num();
            for (uint64_t k = r.num(); r.ok() && k > 0; --k)
                d.subscription_ids.push_back(static_cast<uint32_t>(r.num()));
            _deliveries[{d.client_id, d.sequence}] = d;
        }
        for (uint64_t n = ok ? r.num() : 0; r.ok() && n > 0; --n) {
            std::string client_id = r.str();
            _incoming_qos2.insert({client_id, static_cast<uint16_t>(r.num())});
        }
        std::fclose(f);
        if (!ok || !r.ok()) {
            log(ROOST_LOG_ERROR, "%s is damaged or not a snapshot; move it away to start empty",
                _file.c_str());
            return false;
        }
        return true;
    }

    // At start, on the main thread, before any worker_start: plugin_data is this instance.
    static int restore(void* plugin_data, const roost_restore_sink* sink) {
        snapshot_store& p = of(plugin_data);
        std::lock_guard<std::mutex> lock(p._mutex);
        if (!p.load()) return ROOST_EINVAL;  // the broker does not start: better than losing it
        // Messages before the deliveries that name them, sessions before what belongs to them.
        for (const auto& [id, m] : p._messages) {
            roost_stored_message rec = m.record();
            sink->message(sink->ctx, &rec);
        }
        for (const auto& [topic, m] : p._retained) {
            roost_stored_message rec = m.record();
            sink->retained(sink->ctx, &rec);
        }
        for (const auto& [id, s] : p._sessions) {
            roost_session_record rec{};
            rec.struct_size = sizeof rec;
            rec.client_id = view(s.client_id);
            rec.expiry_interval = static_cast<uint32_t>(s.expiry);
            rec.disconnected_at_ms = s.disconnected_at_ms;
            roost_stored_message will = s.will.record();
            rec.will = s.has_will ? &will : nullptr;
            rec.will_due_ms = s.will_due_ms;
            sink->session(sink->ctx, &rec);
        }
        for (const auto& [key, s] : p._subscriptions) {
            roost_subscription_record rec{};
            rec.struct_size = sizeof rec;
            rec.client_id = view(s.client_id);
            rec.filter = view(s.filter);
            rec.qos = static_cast<uint8_t>(s.qos);
            rec.no_local = static_cast<uint8_t>(s.no_local);
            rec.retain_as_published = static_cast<uint8_t>(s.retain_as_published);
            rec.retain_handling = static_cast<uint8_t>(s.retain_handling);
            rec.subscription_id = static_cast<uint32_t>(s.id);
            sink->subscription(sink->ctx, &rec);
        }
        for (const auto& [key, d] : p._deliveries) {
            roost_delivery_record rec{};
            rec.struct_size = sizeof rec;
            rec.client_id = view(d.client_id);
            rec.message_id = d.message_id;
            rec.sequence = d.sequence;
            rec.packet_id = static_cast<uint16_t>(d.packet_id);
            rec.qos = static_cast<uint8_t>(d.qos);
            rec.retain = static_cast<uint8_t>(d.retain);
            rec.state = static_cast<roost_delivery_state>(d.state);
            rec.subscription_ids = d.subscription_ids.data();
            rec.subscription_id_count = d.subscription_ids.size();
            sink->delivery(sink->ctx, &rec);  // EGONE: its session or message is gone; skipped
        }
        if (ROOST_HAS(sink, roost_restore_sink, incoming_qos2))  // appended after v1's release
            for (const auto& [client_id, packet_id] : p._incoming_qos2)
                sink->incoming_qos2(sink->ctx, view(client_id), packet_id);
        p.log(ROOST_LOG_INFO, "restored %zu sessions, %zu deliveries, %zu retained from %s",
              p._sessions.size(), p._deliveries.size(), p._retained.size(), p._file.c_str());
        return ROOST_OK;
    }

    // The store hooks: on any worker, each answered at once (ALLOW: it is in memory now).

    static roost_verdict session_save(void* data, roost_call*, const roost_session_record* r) {
        session s;
        s.client_id = copy(r->client_id);
        s.expiry = r->expiry_interval;
        s.disconnected_at_ms = r->disconnected_at_ms;
        s.will_due_ms = r->will_due_ms;
        s.has_will = r->will != nullptr;
        if (r->will != nullptr) s.will = message(*r->will);
        std::lock_guard<std::mutex> lock(of(data)._mutex);
        of(data)._sessions[s.client_id] = std::move(s);  // at CONNACK and again at disconnect
        return ROOST_ALLOW;
    }

    static roost_verdict session_delete(void* data, roost_call*, roost_bytes client_id) {
        snapshot_store& p = of(data);
        std::string id = copy(client_id);
        std::lock_guard<std::mutex> lock(p._mutex);
        p._sessions.erase(id);  // may be an id this store lacks: nothing to erase
        // Its subscriptions, deliveries and QoS 2 ids go with it (no delivery_delete follows).
        erase_client(p._subscriptions, id);
        erase_client(p._deliveries, id);
        for (auto it = p._incoming_qos2.begin(); it != p._incoming_qos2.end();)
            it = it->first == id ? p._incoming_qos2.erase(it) : std::next(it);
        return ROOST_ALLOW;
    }

    template <class Map>
    static void erase_client(Map& map, const std::string& id) {
        auto it = map.lower_bound({id, {}});
        while (it != map.end() && it->first.first == id)
            it = map.erase(it);
    }

    static roost_verdict subscription_save(void* data, roost_call*, const roost_subscription_record* r) {
        subscription s;
        s.client_id = copy(r->client_id);
        s.filter = copy(r->filter);
        s.qos = r->qos;
        s.no_local = r->no_local;
        s.retain_as_published = r->retain_as_published;
        s.retain_handling = r->retain_handling;
        s.id = r->subscription_id;
        std::lock_guard<std::mutex> lock(of(data)._mutex);
        of(data)._subscriptions[{s.client_id, s.filter}] = std::move(s);
        return ROOST_ALLOW;
    }

    static roost_verdict subscription_delete(void* data, roost_call*, roost_bytes client_id,
                                             roost_bytes filter) {
        std::lock_guard<std::mutex> lock(of(data)._mutex);
        of(data)._subscriptions.erase({copy(client_id), copy(filter)});
        return ROOST_ALLOW;
    }

    // Comes before (or, with message_delivery_save, with) the first delivery naming the message.
    static roost_verdict message_store(void* data, roost_call*, const roost_stored_message* m) {
        message copied(*m);
        std::lock_guard<std::mutex> lock(of(data)._mutex);
        of(data)._messages[copied.id] = std::move(copied);
        return ROOST_ALLOW;
    }

    // After its last stored delivery was deleted: no delivery names it any more.
    static roost_verdict message_release(void* data, roost_call*, uint64_t id) {
        std::lock_guard<std::mutex> lock(of(data)._mutex);
        of(data)._messages.erase(id);
        return ROOST_ALLOW;
    }

    // Queued (state QUEUED, packet_id 0) or in flight; saved again as its state changes.
    static roost_verdict delivery_save(void* data, roost_call*, const roost_delivery_record* r) {
        delivery d;
        d.client_id = copy(r->client_id);
        d.message_id = r->message_id;
        d.sequence = r->sequence;
        d.packet_id = r->packet_id;
        d.qos = r->qos;
        d.retain = r->retain;
        d.state = r->state;
        d.subscription_ids.assign(r->subscription_ids, r->subscription_ids + r->subscription_id_count);
        std::lock_guard<std::mutex> lock(of(data)._mutex);
        of(data)._deliveries[{d.client_id, d.sequence}] = std::move(d);
        return ROOST_ALLOW;
    }

    static roost_verdict delivery_delete(void* data, roost_call*, roost_bytes client_id, uint64_t sequence) {
        std::lock_guard<std::mutex> lock(of(data)._mutex);
        of(data)._deliveries.erase({copy(client_id), sequence});
        return ROOST_ALLOW;
    }

    // Kept by topic, apart from the messages above; an empty payload clears the topic.
    static roost_verdict retained_set(void* data, roost_call*, const roost_stored_message* m) {
        message copied(*m);
        std::lock_guard<std::mutex> lock(of(data)._mutex);
        if (copied.payload.empty())
            of(data)._retained.erase(copied.topic);
        else
            of(data)._retained[copied.topic] = std::move(copied);
        return ROOST_ALLOW;
    }

    // A QoS 2 packet id a client sent and has not released yet (PUBREL): kept so that a resend
    // after a restart is not routed twice.
    static roost_verdict incoming_qos2_save(void* data, roost_call*, roost_bytes client_id,
                                            uint16_t packet_id) {
        std::lock_guard<std::mutex> lock(of(data)._mutex);
        of(data)._incoming_qos2.insert({copy(client_id), packet_id});
        return ROOST_ALLOW;
    }

    static roost_verdict incoming_qos2_delete(void* data, roost_call*, roost_bytes client_id,
                                              uint16_t packet_id) {
        std::lock_guard<std::mutex> lock(of(data)._mutex);
        of(data)._incoming_qos2.erase({copy(client_id), packet_id});
        return ROOST_ALLOW;
    }

    std::string _file;
    std::mutex _mutex;  // guards every map below: the hooks run on every worker at once
    std::map<uint64_t, message> _messages;
    std::map<std::string, message> _retained;
    std::map<std::string, session> _sessions;
    std::map<std::pair<std::string, std::string>, subscription> _subscriptions;
    std::map<std::pair<std::string, uint64_t>, delivery> _deliveries;
    std::set<std::pair<std::string, uint16_t>> _incoming_qos2;
};

}  // namespace

ROOST_PLUGIN_CPP(snapshot_store);
