-- Names the credential behind a request for the per-credential rate limiter.
--
-- It runs after ext_authz, so the x-pe-principal header it reads is the assertion the
-- auth service has just minted (the edge filter drops any that a client sends). Its
-- `sub` claim is the principal: a user (usr_…) across all of that user's tokens, or an
-- API key (key_…). Limiting by the raw Authorization header instead would give every
-- refreshed token a fresh allowance, and limiting before ext_authz would let a forged
-- token spend someone else's.
--
-- The assertion's signature is not checked here: ext_authz vouched for it a moment ago,
-- and every service verifies it again.

local PRINCIPAL_HEADER = "x-pe-principal"
local SUBJECT_HEADER = "x-pe-rate-limit-subject"
-- Principal ids are short prefixed ids; anything longer is not one.
local SUBJECT_LENGTH_MAX = 128
-- A principal assertion is a few hundred bytes; refuse to decode a megabyte.
local ASSERTION_LENGTH_MAX = 8192

local BASE64URL_VALUES = {}
do
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
  for index = 1, #alphabet do
    BASE64URL_VALUES[alphabet:byte(index)] = index - 1
  end
end

local function base64url_decode(text)
  local out = {}
  local accumulator, bits = 0, 0
  for index = 1, #text do
    local value = BASE64URL_VALUES[text:byte(index)]
    if value == nil then
      return nil
    end
    accumulator = accumulator * 64 + value
    bits = bits + 6
    if bits >= 8 then
      bits = bits - 8
      local byte = math.floor(accumulator / 2 ^ bits)
      out[#out + 1] = string.char(byte)
      accumulator = accumulator - byte * 2 ^ bits
    end
  end
  return table.concat(out)
end

-- The `sub` claim of a compact JWT, or nil.
local function subject_of(assertion)
  if #assertion > ASSERTION_LENGTH_MAX then
    return nil
  end
  local payload = assertion:match("^[%w_-]+%.([%w_-]+)%.[%w_-]*$")
  if payload == nil then
    return nil
  end
  local claims = base64url_decode(payload)
  if claims == nil then
    return nil
  end
  local subject = claims:match('"sub"%s*:%s*"([^"\\]*)"')
  if subject == nil or #subject == 0 or #subject > SUBJECT_LENGTH_MAX or subject:find("[^%w_:.-]") then
    return nil
  end
  return subject
end

function envoy_on_request(handle)
  local headers = handle:headers()
  headers:remove(SUBJECT_HEADER)
  local assertion = headers:get(PRINCIPAL_HEADER)
  if assertion == nil then
    return
  end
  local subject = subject_of(assertion)
  if subject ~= nil then
    headers:replace(SUBJECT_HEADER, subject)
  end
end
