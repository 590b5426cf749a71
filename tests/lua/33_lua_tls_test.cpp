// on_auth reads the TLS client certificate's subject (client.tls_subject, the attribute
// tls.peer.subject the TLS listener sets): a TLS listener that asks for client certificates from
// the test CA (made with the openssl CLI by tests/plugins/tls/tls_support.cpp), mosquitto_pub as
// the client, and a plain listener beside it where no certificate exists.
#include "lua_test_util.hpp"
#include "tls_support.hpp"

using namespace lua_test;
using roost_tls::certs;
using roost_tls::tls_args;
using roost_tls::tls_lines;

TEST_CASE("on_auth: client.tls_subject decides; without a certificate it is nil") {
    const char* script = R"LUA(
function on_auth(client)
  local subject = client.tls_subject
  roost.log("auth " .. client.id .. " subject " .. tostring(subject) .. " san " ..
            tostring(client:attribute("tls.peer.san")))
  if subject == "CN=dev1,O=Acme" then return true end
  return false, 0x87
end
)LUA";
    Setup s = lua_setup(write_script("tls_auth", script));
    s.listeners.push_back(ListenerSpec{"", "", "", 0});
    s.listener_lines = {{}, tls_lines({"tls_ca_file = \"" + certs().ca + "\""})};
    PluginBroker b(s);
    const auto& c = certs();
    auto ok = run(pub(
        b, tls_args({"-t", "t/1", "-m", "1", "-i", "with-cert", "-V", "mqttv5"}, c.client_cert, c.client_key),
        1));
    CHECK_MESSAGE(ok.exit_code == 0, ok.err << tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"auth with-cert subject CN=dev1,O=Acme san", "URI:spiffe://acme/dev1"}),
                  tail(b.log()));
    // TLS without a client certificate, and plain TCP: no subject, refused by the script.
    auto no_cert = run(pub(b, tls_args({"-t", "t/1", "-m", "1", "-i", "no-cert", "-V", "mqttv5"}), 1));
    CHECK(no_cert.exit_code != 0);
    CHECK_MESSAGE(contains_ci(no_cert.out + no_cert.err, "Not authorized"), no_cert.out << no_cert.err);
    CHECK(connack(b, 5, "plain", std::nullopt, std::nullopt) == std::optional<uint8_t>(0x87));
    CHECK(b.wait_line({"auth no-cert subject nil"}));
    CHECK(b.wait_line({"auth plain subject nil"}));
}
