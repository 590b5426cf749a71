#include "broker/router.hpp"

#include "broker/message_home.hpp"

namespace roost {

// After the workers: the messages they handed to each other's homes and never freed.
Router::~Router() {
    message_home::drain_all_homes();
}

bool Router::subscribe(const SessionRef& ref, std::string_view filter,
                       const mqtt::SubscriptionOptions& options, uint32_t subscription_id) {
    std::unique_lock lock(_subscriptions_lock);
    return _subscriptions.subscribe(ref.key, filter, options, subscription_id, &ref);
}

bool Router::unsubscribe(SessionKey session, std::string_view filter) {
    std::unique_lock lock(_subscriptions_lock);
    return _subscriptions.unsubscribe(session, filter);
}

bool Router::match(std::string_view topic, std::vector<SubscriberMatch>& out) const {
    std::shared_lock lock(_subscriptions_lock);
    return _subscriptions.match(topic, out);
}

std::optional<SubscriberMatch> Router::choose_member(std::string_view share, SessionKey except) const {
    std::shared_lock lock(_subscriptions_lock);
    return _subscriptions.choose_member(share, except);
}

void Router::sync_online(SessionKey session, const std::vector<std::string_view>& shares) {
    std::unique_lock lock(_subscriptions_lock);
    for (std::string_view share : shares)
        _subscriptions.sync_online(session, share);
}

size_t Router::subscription_count() const {
    std::shared_lock lock(_subscriptions_lock);
    return _subscriptions.size();
}

bool Router::set_retained(MessagePtr message) {
    std::unique_lock lock(_retained_lock);
    return _retained.set(std::move(message));
}

void Router::match_retained(std::string_view filter, Clock::time_point now, std::vector<MessagePtr>& out) {
    std::vector<MessagePtr> expired;
    {
        std::shared_lock lock(_retained_lock);
        _retained.match(filter, now, out, expired);
    }
    if (expired.empty()) return;
    std::unique_lock lock(_retained_lock);
    for (const MessagePtr& m : expired)
        _retained.erase_if_current(m);
}

size_t Router::retained_count() const {
    std::shared_lock lock(_retained_lock);
    return _retained.size();
}

std::optional<Router::Owner> Router::claim(const std::string& client_id, unsigned worker, SessionKey key) {
    std::lock_guard lock(_directory_lock);
    return _directory.claim(&client_id, worker, key);
}

void Router::move(std::string_view client_id, unsigned worker) {
    std::lock_guard lock(_directory_lock);
    _directory.move(client_id, worker);
}

void Router::repoint(const std::string& client_id, SessionKey key) {
    std::lock_guard lock(_directory_lock);
    _directory.repoint(&client_id, key);
}

void Router::release(std::string_view client_id, SessionKey key) {
    std::lock_guard lock(_directory_lock);
    _directory.release(client_id, key);
}

std::optional<Router::Owner> Router::owner(std::string_view client_id) const {
    std::lock_guard lock(_directory_lock);
    return _directory.find(client_id);
}

size_t Router::session_count() const {
    std::lock_guard lock(_directory_lock);
    return _directory.size();
}

void Router::message_id_seen(uint64_t id) {
    uint64_t next = _next_message_id.load(std::memory_order_relaxed);
    while (next <= id) {
        if (_next_message_id.compare_exchange_weak(next, id + 1, std::memory_order_relaxed)) {
            _message_id_epoch.fetch_add(1, std::memory_order_relaxed);
            return;
        }
    }
}

}  // namespace roost
