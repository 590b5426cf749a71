-- scripts/acl.lua: Mosquitto's password_file and acl_file, in the lua plugin.
--
-- Options (in the [[plugin]] table, beside script = ".../acl.lua"; paths relative to the config
-- file's folder):
--   password_file = "lua-acl.passwd"   made by mosquitto_passwd ($7$ PBKDF2-SHA512 or $6$ hashes)
--   acl_file      = "lua-acl.acl"      Mosquitto acl_file syntax (below)
--
-- Authentication: a user name in the password file must give its password (else CONNACK 0x86 Bad
-- user name or password; 3.1.1: return code 4); a user name that is not in the file is refused
-- the same way. A client without a user name is not this script's to decide (nil: the next plugin,
-- then the listener's auth_default). Without password_file, on_auth is not defined at all.
--
-- Authorization, as Mosquitto reads an acl_file:
--   # comment
--   topic [read|write|readwrite|deny] <filter>    before any "user" line: clients without a user name
--   user <name>
--   topic [read|write|readwrite|deny] <filter>    for that user ("topic <filter>" alone is readwrite)
--   pattern [read|write|readwrite|deny] <filter>  for everyone, with %u (user name) and %c (client id)
-- PUBLISH needs write, SUBSCRIBE and every delivery need read; a matching deny refuses whatever
-- else allows. A subscription filter must lie inside a rule's filter ("a/#" allows "a/+/b", "a/+"
-- does not allow "a/#"). Denied: PUBACK/SUBACK 0x87 Not authorized (3.1.1: SUBACK 0x80, a QoS 0/1
-- PUBLISH is dropped). A user name or client id with + # or / never fills a pattern.

local options = roost.options

-- An option this script does not read is a typo, and a silent one would be costly: with
-- "pasword_file" there would be no password check at all. Without either file there is nothing
-- to check against.
for key in pairs(options) do
  if key ~= "password_file" and key ~= "acl_file" then
    error("acl.lua: unknown option '" .. key .. "' (this script reads password_file and acl_file)", 0)
  end
end
if not options.password_file and not options.acl_file then
  error("acl.lua needs password_file, acl_file or both in the plugin's options", 0)
end

local function read_acl(path)
  local text = assert(roost.read_file(path))
  local anonymous, users, patterns = {}, {}, {}
  local current = nil -- nil: the rules before the first "user" line
  local number = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    number = number + 1
    line = line:gsub("^%s+", ""):gsub("%s+$", "")
    if line ~= "" and line:sub(1, 1) ~= "#" then
      local keyword, rest = line:match("^(%S+)%s*(.*)$")
      if keyword == "user" then
        if rest == "" then error(path .. ":" .. number .. ": 'user' needs a name", 0) end
        current = rest
        users[current] = users[current] or {}
      elseif keyword == "topic" or keyword == "pattern" then
        local access, filter = rest:match("^(%S+)%s+(.+)$")
        if not access or not (access == "read" or access == "write" or access == "readwrite" or access == "deny") then
          access, filter = "readwrite", rest
        end
        if filter == "" then error(path .. ":" .. number .. ": '" .. keyword .. "' needs a topic filter", 0) end
        local rule = { access = access, filter = filter }
        if keyword == "pattern" then
          patterns[#patterns + 1] = rule
        elseif current then
          table.insert(users[current], rule)
        else
          anonymous[#anonymous + 1] = rule
        end
      else
        error(path .. ":" .. number .. ": unknown keyword '" .. tostring(keyword) .. "' (topic, pattern or user)", 0)
      end
    end
  end
  return anonymous, users, patterns
end

local anonymous, users, patterns = {}, {}, {}
if options.acl_file then
  anonymous, users, patterns = read_acl(options.acl_file)
end

local passwords = nil
if options.password_file then
  passwords = assert(roost.passwd_load(options.password_file))
end

-- A name that may fill a pattern: no wildcard or level separator could widen the rule.
local function plain(s)
  return s ~= nil and s ~= "" and not s:find("[+#/]")
end

-- want: "read" or "write". is_filter: `topic` is a subscription filter.
local function allowed(client, want, topic, is_filter)
  local function matches(filter)
    if is_filter then return roost.filter_covers(filter, topic) end
    return roost.topic_matches(filter, topic)
  end
  local granted = false
  local function consider(rule, filter)
    if not matches(filter) then return true end
    if rule.access == "deny" then return false end
    if rule.access == "readwrite" or rule.access == want then granted = true end
    return true
  end
  local username, id = client.username, client.id
  local rules = username and users[username] or (username == nil and anonymous) or {}
  for _, rule in ipairs(rules) do
    if not consider(rule, rule.filter) then return false end
  end
  for _, rule in ipairs(patterns) do
    local filter = rule.filter
    local usable = true
    if filter:find("%u", 1, true) then
      usable = plain(username)
      if usable then filter = filter:gsub("%%u", function() return username end) end
    end
    if usable and filter:find("%c", 1, true) then
      usable = plain(id)
      if usable then filter = filter:gsub("%%c", function() return id end) end
    end
    if usable and not consider(rule, filter) then return false end
  end
  return granted
end

if passwords then
  function on_auth(client)
    local username = client.username
    if username == nil then return nil end
    local hash = passwords[username]
    local password = client.password
    if hash and password and roost.passwd_verify(hash, password) then return true end
    roost.log("refused " .. username .. " from " .. client.address .. ": unknown user or wrong password")
    return false, 0x86
  end
end

function on_acl(client, action, topic, qos, retain)
  if action == "publish" then
    return allowed(client, "write", topic, false)
  elseif action == "subscribe" then
    -- A shared subscription is checked on its filter: $share/group/<filter>.
    local filter = topic:match("^%$share/[^/]+/(.+)$") or topic
    return allowed(client, "read", filter, true)
  else -- "deliver"
    return allowed(client, "read", topic, false)
  end
end
