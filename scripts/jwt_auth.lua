-- scripts/jwt_auth.lua: clients authenticate with a JWT, whose claims say what they may do.
--
-- Where the token comes from: the CONNECT password field (any user name), or, for a client that
-- came over WebSocket (the ws plugin), the request's "Authorization: Bearer <token>" header.
--
-- Options (beside script = ".../jwt_auth.lua"; paths relative to the config file's folder):
--   jwt_secret_file = "jwt.secret"        HS256/HS384/HS512: the shared secret (one line)
--   jwt_public_keys = "rsa.pub,ec.pub"    RS256/384/512, ES256/384: PEM public keys or certificates
--   jwt_algorithms  = "RS256,ES256"       the algorithms accepted (default: any the keys fit)
--   jwt_audience    = "roost"             when set, the token's "aud" must name it
--   jwt_issuer      = "https://issuer"    when set, the token's "iss" must be it
--   jwt_leeway      = "30"                seconds of clock skew allowed for exp and nbf
--
-- Claims mapped to permissions (topic filters; %c is the client id, %s the token's "sub"; a
-- filter whose %c or %s would bring in "+", "#" or "/", or that has no string to put there, is
-- dropped):
--   "publish":   ["devices/%c/telemetry", "broadcast/#"]   what the client may publish to
--   "subscribe": ["devices/%c/commands/#"]                   what it may subscribe to (and receive)
-- A token must carry "exp". An expired, not-yet-valid, forged or unreadable token: CONNACK 0x86
-- Bad user name or password (3.1.1: return code 4). No token at all: nil (the next plugin, then
-- the listener's auth_default). A token that expires while the client is connected: from then on
-- its PUBLISH and SUBSCRIBE are refused (within the decision cache's TTL).

local options = roost.options

-- An option this script does not read is a typo, and a silent one would be costly: with
-- "jwt_audiance" no token's "aud" would be checked.
local known = { jwt_secret_file = true, jwt_public_keys = true, jwt_algorithms = true, jwt_audience = true,
  jwt_issuer = true, jwt_leeway = true }
for key in pairs(options) do
  if not known[key] then
    error("jwt_auth.lua: unknown option '" .. key .. "' (this script reads jwt_secret_file, jwt_public_keys, " ..
      "jwt_algorithms, jwt_audience, jwt_issuer and jwt_leeway)", 0)
  end
end

local function list(text)
  local out = {}
  for item in (text or ""):gmatch("[^,%s]+") do out[#out + 1] = item end
  return out
end

local public_keys = list(options.jwt_public_keys)
local algorithms = list(options.jwt_algorithms)
if #algorithms == 0 then algorithms = nil end
assert(options.jwt_secret_file or #public_keys > 0,
  "jwt_auth.lua needs jwt_secret_file or jwt_public_keys in the plugin's options")

local function token_of(client)
  local password = client.password
  if password and password ~= "" then return password end
  local header = client:header("Authorization")
  if header then return header:match("^[Bb]earer%s+(%S+)$") end
  return nil
end

local function algorithm_of(token)
  local header = token:match("^([^.]+)%.")
  local text = header and roost.base64_decode(header, "url")
  local decoded = text and roost.json_decode(text)
  -- A hostile header may say "alg": 1 or {}: only a string names an algorithm.
  if type(decoded) == "table" and type(decoded.alg) == "string" then return decoded.alg end
  return nil
end

-- The claims, or nil and why: the key is picked by the token's algorithm family.
local function verify(token)
  local alg = algorithm_of(token)
  if not alg then return nil, "not a JWT" end
  local checks = {
    algorithms = algorithms,
    audience = options.jwt_audience,
    issuer = options.jwt_issuer,
    leeway = tonumber(options.jwt_leeway or "0"),
  }
  if alg:sub(1, 2) == "HS" then
    if not options.jwt_secret_file then return nil, "no secret for " .. alg end
    checks.secret_file = options.jwt_secret_file
    return roost.jwt_verify(token, checks)
  end
  local why = "no public key for " .. alg
  for _, file in ipairs(public_keys) do
    checks.key_file = file
    local claims, err = roost.jwt_verify(token, checks)
    if claims then return claims end
    -- A key of the wrong type says so; keep the reason from a key that fits.
    if not err:find("does not fit the key", 1, true) then why = err end
  end
  return nil, why
end

-- A client id or "sub" put into a filter must stay one topic level: a client that names itself
-- "+" or "#" would otherwise be granted every device's topics (as Mosquitto does for %c and %u,
-- such a filter is dropped).
local function plain(value)
  return type(value) == "string" and value ~= "" and not value:find("[+#/]")
end

local function filters(claim, client, claims)
  local out = {}
  if type(claim) == "string" then claim = { claim } end
  if type(claim) ~= "table" then return out end
  local id, sub = client.id, claims.sub
  for _, f in ipairs(claim) do
    if type(f) == "string" then
      local usable = true
      if f:find("%c", 1, true) then
        usable = plain(id)
        if usable then f = f:gsub("%%c", function() return id end) end
      end
      if usable and f:find("%s", 1, true) then
        usable = plain(sub)
        if usable then f = f:gsub("%%s", function() return sub end) end
      end
      if usable then out[#out + 1] = f end
    end
  end
  return out
end

function on_auth(client)
  local token = token_of(client)
  if not token then return nil end
  local claims, why = verify(token)
  if not claims then
    roost.log("client " .. client.id .. " from " .. client.address .. ": JWT refused: " .. why)
    return false, 0x86
  end
  roost.client_data_set(client, {
    sub = claims.sub,
    exp = claims.exp,
    publish = filters(claims.publish, client, claims),
    subscribe = filters(claims.subscribe, client, claims),
  })
  return true
end

function on_acl(client, action, topic, qos, retain)
  local rights = roost.client_data_get(client)
  if not rights then return nil end -- not one of ours: the next plugin decides
  if rights.exp and os.time() >= rights.exp then return false end
  if action == "publish" then
    for _, f in ipairs(rights.publish) do
      if roost.topic_matches(f, topic) then return true end
    end
  elseif action == "subscribe" then
    local filter = topic:match("^%$share/[^/]+/(.+)$") or topic
    for _, f in ipairs(rights.subscribe) do
      if roost.filter_covers(f, filter) then return true end
    end
  else -- deliver: what it may subscribe to, it may receive
    for _, f in ipairs(rights.subscribe) do
      if roost.topic_matches(f, topic) then return true end
    end
  end
  return false
end
