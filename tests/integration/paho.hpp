// A thin RAII wrapper over the Paho MQTT C synchronous client (MQTTClient), for tests that
// want a real, independent client library: persistent sessions, QoS 1/2 flows, MQTT 5.
#pragma once
#include <MQTTClient.h>

#include <string>
#include <utility>
#include <vector>

#include "harness.hpp"

// Paho's initializer macros leave trailing fields to zero-initialisation on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace roost_it {

struct PahoMessage {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retained = false;
    bool dup = false;
    bool operator==(const PahoMessage& o) const { return topic == o.topic && payload == o.payload; }
};

inline std::ostream& operator<<(std::ostream& os, const PahoMessage& m) {
    return os << m.topic << "|" << m.payload << " (qos " << m.qos << ")";
}

struct PahoConnect {
    int rc = -1;                   // MQTTCLIENT_SUCCESS or an error / reason code
    bool session_present = false;  // Paho 1.3 fills it for 3.1.1 only (06 checks 5.0 raw)
};

class Paho {
  public:
    // version: MQTTVERSION_3_1_1 or MQTTVERSION_5.
    Paho(uint16_t port, const std::string& client_id, int version = MQTTVERSION_3_1_1) : _version(version) {
        std::string uri = "tcp://127.0.0.1:" + std::to_string(port);
        MQTTClient_createOptions opts = MQTTClient_createOptions_initializer;
        opts.MQTTVersion = version;
        MQTTClient_createWithOptions(&_client, uri.c_str(), client_id.c_str(), MQTTCLIENT_PERSISTENCE_NONE,
                                     nullptr, &opts);
    }
    ~Paho() {
        if (_client) {
            if (MQTTClient_isConnected(_client)) MQTTClient_disconnect(_client, 1000);
            MQTTClient_destroy(&_client);
        }
    }
    Paho(const Paho&) = delete;
    Paho& operator=(const Paho&) = delete;

    // 3.1.1: `clean` is cleansession. 5: `clean` is clean start, session_expiry in seconds.
    PahoConnect connect(bool clean, uint32_t session_expiry = 0) {
        PahoConnect result;
        if (_version == MQTTVERSION_5) {
            MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer5;
            opts.cleanstart = clean ? 1 : 0;
            opts.keepAliveInterval = 30;
            MQTTProperties props = MQTTProperties_initializer;
            MQTTProperty p;
            p.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
            p.value.integer4 = session_expiry;
            MQTTProperties_add(&props, &p);
            MQTTResponse r = MQTTClient_connect5(_client, &opts, &props, nullptr);
            result.rc = r.reasonCode;
            result.session_present = opts.returned.sessionPresent != 0;
            MQTTResponse_free(r);
            MQTTProperties_free(&props);
        } else {
            MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer;
            opts.cleansession = clean ? 1 : 0;
            opts.keepAliveInterval = 30;
            result.rc = MQTTClient_connect(_client, &opts);
            result.session_present = opts.returned.sessionPresent != 0;
        }
        return result;
    }

    int subscribe(const std::string& filter, int qos) {
        if (_version == MQTTVERSION_5) {
            MQTTResponse r = MQTTClient_subscribe5(_client, filter.c_str(), qos, nullptr, nullptr);
            int rc = r.reasonCode;
            MQTTResponse_free(r);
            return rc;
        }
        // subscribeMany reports the granted QoS (or 0x80) in place.
        char* topics[1] = {const_cast<char*>(filter.c_str())};
        int granted[1] = {qos};
        int rc = MQTTClient_subscribeMany(_client, 1, topics, granted);
        return rc == MQTTCLIENT_SUCCESS ? granted[0] : rc;
    }

    // Publishes and waits until the QoS flow completes. Returns MQTTCLIENT_SUCCESS or an error.
    int publish(const std::string& topic, const std::string& payload, int qos, bool retained = false) {
        MQTTClient_message msg = MQTTClient_message_initializer;
        msg.payload = const_cast<char*>(payload.data());
        msg.payloadlen = int(payload.size());
        msg.qos = qos;
        msg.retained = retained ? 1 : 0;
        MQTTClient_deliveryToken token = 0;
        int rc;
        if (_version == MQTTVERSION_5) {
            MQTTResponse r = MQTTClient_publishMessage5(_client, topic.c_str(), &msg, &token);
            rc = r.reasonCode;
            MQTTResponse_free(r);
        } else {
            rc = MQTTClient_publishMessage(_client, topic.c_str(), &msg, &token);
        }
        if (rc != MQTTCLIENT_SUCCESS) return rc;
        return MQTTClient_waitForCompletion(_client, token, 5000);
    }

    // Receives messages until none arrives for `quiet`.
    std::vector<PahoMessage> receive_all(Millis quiet = 1000ms) {
        std::vector<PahoMessage> out;
        for (;;) {
            char* topic = nullptr;
            int topic_len = 0;
            MQTTClient_message* msg = nullptr;
            int rc = MQTTClient_receive(_client, &topic, &topic_len, &msg, (unsigned long)quiet.count());
            if (rc != MQTTCLIENT_SUCCESS && rc != MQTTCLIENT_TOPICNAME_TRUNCATED) break;
            if (!msg) break;  // time-out
            PahoMessage m;
            m.topic = topic_len > 0 ? std::string(topic, size_t(topic_len)) : std::string(topic);
            m.payload = std::string(static_cast<char*>(msg->payload), size_t(msg->payloadlen));
            m.qos = msg->qos;
            m.retained = msg->retained != 0;
            m.dup = msg->dup != 0;
            out.push_back(std::move(m));
            MQTTClient_freeMessage(&msg);
            MQTTClient_free(topic);
        }
        return out;
    }

    int disconnect() {
        if (_version == MQTTVERSION_5)
            return MQTTClient_disconnect5(_client, 1000, MQTTREASONCODE_SUCCESS, nullptr);
        return MQTTClient_disconnect(_client, 1000);
    }
    bool connected() { return MQTTClient_isConnected(_client) != 0; }

  private:
    MQTTClient _client = nullptr;
    int _version;
};

}  // namespace roost_it
