// topic_rewrite: a Roost plugin in C++17, on the header-only layer roost/plugin.hpp.
//
// Rewrites the topic of every publish by a prefix table from its options: each option
// `"old/" = "new/"` turns old/x/y into new/x/y before the message is routed. The longest
// matching prefix wins; a topic no prefix matches passes unchanged (the hook answers NEXT).
// A rewrite that would make an invalid topic (empty, or with + or #) is refused by
// check_options: at load time, and by `roost --check-config`, naming the option's file:line.
#include <roost/plugin.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

class topic_rewrite : public roost::plugin<topic_rewrite> {
  public:
    // roost_plugin_check: the broker calls it before the constructor (and --check-config alone).
    static void check_options(const roost::options& options) {
        for (const auto& [from, to] : options) {
            if (from.empty()) {
                throw std::invalid_argument(options.where(from) +
                                            "an empty prefix would rewrite every topic");
            }
            if (to.find_first_of("+#") != std::string::npos || to.find('\0') != std::string::npos) {
                throw std::invalid_argument(options.where(from) + "\"" + from + "\" = \"" + to +
                                            "\": a topic may not contain + or #");
            }
        }
    }

    explicit topic_rewrite(const roost::options& options) {
        check_options(options);
        for (const auto& [from, to] : options) {
            _rules.push_back({from, to});
            log(ROOST_LOG_INFO, "rewrites '%s...' to '%s...'", from.c_str(), to.c_str());
        }
        // Longest prefix first, so the first match is the best one.
        std::stable_sort(_rules.begin(), _rules.end(),
                         [](const rule& a, const rule& b) { return a.from.size() > b.from.size(); });
        if (_rules.empty()) log(ROOST_LOG_WARNING, "no prefixes in [plugin.options]: nothing to rewrite");
    }

    // Runs on every worker at once: it only reads _rules, which init wrote before workers started.
    roost_verdict on_publish(roost::message_event& ev) {
        std::string_view topic = ev.topic();
        for (const rule& r : _rules) {
            if (topic.substr(0, r.from.size()) != r.from) continue;
            std::string rewritten = r.to + std::string(topic.substr(r.from.size()));
            if (rewritten.empty()) return ev.next();  // "x/" = "" on topic "x/": keep the original
            log(ROOST_LOG_DEBUG, "'%.*s' -> '%s'", static_cast<int>(topic.size()), topic.data(),
                rewritten.c_str());
            ev.set_topic(rewritten);  // copied: valid until the host has read it
            return ev.allow();        // ALLOW carries the rewrite; later plugins see it
        }
        return ev.next();
    }

  private:
    struct rule {
        std::string from, to;
    };
    std::vector<rule> _rules;
};

}  // namespace

ROOST_PLUGIN_CPP(topic_rewrite);
