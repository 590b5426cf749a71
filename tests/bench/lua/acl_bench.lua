-- The ACL the lua plugin benchmark runs (tests/bench/run_lua_bench.sh): allow what matches a rule,
-- as a real acl.lua would, and count the calls so the run can show the script really ran.
local rules = { "bench/#", "$SYS/#" }
local calls = 0

function on_acl(client, action, topic, qos, retain)
  calls = calls + 1
  for _, filter in ipairs(rules) do
    if roost.topic_matches(filter, topic) then return true end
  end
  return false
end

function on_disconnect(client, reason)
  roost.log("acl calls on worker " .. roost.worker .. ": " .. calls)
end
