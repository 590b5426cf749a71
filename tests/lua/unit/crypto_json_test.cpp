// The hashing, encoding and JSON helpers behind the roost table, against published vectors.
#include <doctest/doctest.h>

#include "crypto.hpp"
#include "json.hpp"

using namespace roost_lua;

TEST_CASE("sha256 and hmac: FIPS 180 and RFC 4231 vectors") {
    CHECK(to_hex(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(to_hex(*hmac("sha256", "Jefe", "what do ya want for nothing?")) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK_FALSE(hmac("md5", "k", "d"));
}

TEST_CASE("base64: RFC 4648 vectors, url form, bad input") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");
    CHECK(base64_encode("\xfb\xff", true) == "-_8");
    CHECK(*base64_decode("Zm9vYg==") == "foob");
    CHECK(*base64_decode("Zm9vYg") == "foob");
    CHECK(*base64_decode("-_8", true) == "\xfb\xff");
    CHECK_FALSE(base64_decode("-_8"));
    CHECK_FALSE(base64_decode("Z"));
    CHECK_FALSE(base64_decode("Zm9v YmFy"));
}

TEST_CASE("constant_time_equal") {
    CHECK(constant_time_equal("", ""));
    CHECK(constant_time_equal("abc", "abc"));
    CHECK_FALSE(constant_time_equal("abc", "abd"));
    CHECK_FALSE(constant_time_equal("abc", "ab"));
}

TEST_CASE("json::parse: values, escapes, errors, depth") {
    std::string error;
    auto v =
        json::parse(R"({"a":[1,2.5,-3e2,true,false,null],"s":"x\"\u00e9\ud83d\ude00\n","o":{}})", &error);
    REQUIRE_MESSAGE(v, error);
    REQUIRE(v->get("a"));
    CHECK(v->get("a")->array.size() == 6);
    CHECK(v->get("a")->array[2].number == -300);
    CHECK(v->get("s")->string == "x\"\xc3\xa9\xf0\x9f\x98\x80\n");
    CHECK(v->get("o")->type == json::Value::Type::object);
    for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "\"\\ud800\"", "01x", "[1] 2", "{'a':1}", "nul"}) {
        INFO(bad);
        CHECK_FALSE(json::parse(bad, &error));
    }
    CHECK_FALSE(json::parse(std::string(100, '[') + std::string(100, ']'), &error));
    CHECK(error.find("nested too deeply") != std::string::npos);
}

TEST_CASE("json::parse: a bound on the number of values (the tree is ~50 times the text)") {
    std::string error;
    std::string many = "[";
    for (int i = 0; i < 1000; ++i)
        many += i ? ",[]" : "[]";
    many += "]";
    CHECK(json::parse(many, &error, 64, 1001));
    CHECK_FALSE(json::parse(many, &error, 64, 1000));
    CHECK(error.find("too many values") != std::string::npos);
}
