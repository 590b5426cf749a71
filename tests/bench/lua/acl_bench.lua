-- The ACL the lua plugin benchmark runs (tests/bench/run_lua_bench.sh): allow what matches one of
-- the rules, as a real acl.lua would, and count the calls so the run can show the script ran.
-- Written the way a script on the publish path should be: library functions in locals.
local topic_matches = roost.topic_matches
local rules = { "bench/#", "$SYS/#" }
local calls = 0

function on_acl(client, action, topic, qos, retain)
  calls = calls + 1
  for i = 1, #rules do
    if topic_matches(rules[i], topic) then return true end
  end
  return false
end

function on_disconnect(client, reason)
  roost.log("acl calls on worker " .. roost.worker .. ": " .. calls)
end
