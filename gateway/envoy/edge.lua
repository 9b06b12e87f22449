-- Envoy's half of the REST edge's behaviour, mirroring the Python gateway (gateway/app.py):
--
--   * request ids: the caller's X-Request-Id when it is safe to echo (the rule of
--     gateway/headers.py), else a new one; it goes to ext_authz, the services and the
--     response;
--   * a client's own x-pe-principal (the assertion only the auth service may mint) and
--     x-pe-rate-limit-subject never pass;
--   * a failed gRPC call becomes the guide's error envelope with the HTTP status of its
--     reason: grpc-status, grpc-message and grpc-status-details-bin (google.rpc.Status
--     with google.rpc.ErrorInfo and payment_engine.common.v1.ErrorDetails) are decoded
--     here from the protobuf wire format, exactly as corelib.errors.decode_status does;
--   * Envoy's own local replies (no route, wrong method, body too large, rate limited,
--     upstream down) become envelopes too, and a create answers 201;
--   * the local rate limiters' x-ratelimit-* headers become RateLimit-* (and Retry-After
--     when limited).
--
-- The constants it uses (ERROR_CODES, REASON_BY_GRPC_CODE, LOCAL_REPLY_REASONS, limits)
-- are generated above this text by gateway/envoy/generate.py from corelib.errors and the
-- gateway's own constants, so the two edges read one table.
--
-- Everything here is plain Lua 5.1 (no bit library, no ffi), so the code that Envoy runs
-- is the code tests/edge/ runs under LuaJIT.

local METADATA_NAMESPACE = "payment_engine.edge"
local STATUS_DETAILS_HEADER = "grpc-status-details-bin"
local RATE_LIMIT_SUBJECT_HEADER = "x-pe-rate-limit-subject"
local PRINCIPAL_HEADER = "x-pe-principal"
local ENVELOPE_PREFIX = '{"error":'
local TYPE_ERROR_INFO = "google.rpc.ErrorInfo"
local TYPE_ERROR_DETAILS = "payment_engine.common.v1.ErrorDetails"
-- protobuf's own parser stops at this depth; so does ours.
local NESTING_DEPTH_MAX = 100
-- More fields than any Status the engine sends; stops a hostile trailer early.
local PROTO_FIELDS_MAX = 4096
local VARINT_BYTES_MAX = 10
local REQUEST_ID_RANDOM_CHARS = 26
local ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

-- Protobuf wire types.
local WIRE_VARINT, WIRE_FIXED64, WIRE_BYTES, WIRE_FIXED32 = 0, 1, 2, 5

---------------------------------------------------------------------------------------
-- JSON values: objects keep their keys' order so the output is deterministic.

local JSON_NULL = setmetatable({}, { __tostring = function() return "null" end })

local function new_object()
  return { __object = true, keys = {}, values = {} }
end

local function object_set(object, key, value)
  if object.values[key] == nil then
    object.keys[#object.keys + 1] = key
  end
  object.values[key] = value
end

local function new_array()
  return { __array = true, items = {} }
end

local JSON_ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

local function json_string(text)
  return '"' .. text:gsub('[%c"\\]', function(char)
    return JSON_ESCAPES[char] or string.format("\\u%04x", char:byte())
  end) .. '"'
end

local function json_number(number)
  if number ~= number or number == math.huge or number == -math.huge then
    error("non-finite number")
  end
  if number == math.floor(number) and math.abs(number) < 2 ^ 53 then
    return string.format("%d", number)
  end
  -- The shortest text that reads back as the same double, as Python's repr gives.
  for precision = 15, 17 do
    local text = string.format("%." .. precision .. "g", number)
    if tonumber(text) == number then
      return text
    end
  end
  return string.format("%.17g", number)
end

local function json_encode(value)
  local kind = type(value)
  if value == JSON_NULL then
    return "null"
  elseif kind == "string" then
    return json_string(value)
  elseif kind == "number" then
    return json_number(value)
  elseif kind == "boolean" then
    return value and "true" or "false"
  elseif kind == "table" and value.__object then
    local parts = {}
    for index, key in ipairs(value.keys) do
      parts[index] = json_string(key) .. ":" .. json_encode(value.values[key])
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif kind == "table" and value.__array then
    local parts = {}
    for index, item in ipairs(value.items) do
      parts[index] = json_encode(item)
    end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  error("cannot encode a " .. kind)
end

---------------------------------------------------------------------------------------
-- Text helpers.

local BASE64_VALUES = {}
do
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  for index = 1, #alphabet do
    BASE64_VALUES[alphabet:byte(index)] = index - 1
  end
  -- The URL-safe alphabet too: JWT payloads use it.
  BASE64_VALUES[("-"):byte()] = 62
  BASE64_VALUES[("_"):byte()] = 63
end

-- Standard or URL-safe base64, padded or not (gRPC sends -bin headers unpadded); nil
-- for anything else.
local function base64_decode(text)
  text = text:gsub("[%s=]", "")
  if #text % 4 == 1 then
    return nil
  end
  local out = {}
  local accumulator, bits = 0, 0
  for index = 1, #text do
    local value = BASE64_VALUES[text:byte(index)]
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

-- grpc-message is percent-encoded on the wire (gRPC over HTTP/2, "Responses").
local function percent_decode(text)
  return (text:gsub("%%(%x%x)", function(hex) return string.char(tonumber(hex, 16)) end))
end

local function split_commas(text)
  local items = {}
  for item in text:gmatch("[^,]+") do
    items[#items + 1] = item:match("^%s*(.-)%s*$")
  end
  return items
end

---------------------------------------------------------------------------------------
-- The protobuf wire format, as far as google.rpc.Status and its details need it.

local function read_varint(data, position)
  local value, scale = 0, 1
  for offset = 0, VARINT_BYTES_MAX - 1 do
    local byte = data:byte(position + offset)
    if byte == nil then
      error("truncated varint")
    end
    value = value + (byte % 128) * scale
    if byte < 128 then
      return value, position + offset + 1
    end
    scale = scale * 128
  end
  error("varint too long")
end

-- Calls visit(field_number, wire_type, value) for each field of one message: value is a
-- number for varints, and the raw bytes for the other wire types.
local function each_field(data, visit)
  local position, count = 1, 0
  while position <= #data do
    count = count + 1
    if count > PROTO_FIELDS_MAX then
      error("too many fields")
    end
    local tag
    tag, position = read_varint(data, position)
    local field_number, wire_type = math.floor(tag / 8), tag % 8
    if field_number == 0 then
      error("field number 0")
    end
    local value
    if wire_type == WIRE_VARINT then
      value, position = read_varint(data, position)
    elseif wire_type == WIRE_FIXED64 or wire_type == WIRE_FIXED32 then
      local size = wire_type == WIRE_FIXED64 and 8 or 4
      if position + size - 1 > #data then
        error("truncated fixed field")
      end
      value = data:sub(position, position + size - 1)
      position = position + size
    elseif wire_type == WIRE_BYTES then
      local size
      size, position = read_varint(data, position)
      if position + size - 1 > #data then
        error("truncated length-delimited field")
      end
      value = data:sub(position, position + size - 1)
      position = position + size
    else
      error("unsupported wire type " .. wire_type)
    end
    visit(field_number, wire_type, value)
  end
end

local function expect_wire(wire_type, expected)
  if wire_type ~= expected then
    error("unexpected wire type")
  end
end

-- An IEEE 754 double from 8 little-endian bytes, with arithmetic only.
local function decode_double(bytes)
  local b1, b2, b3, b4, b5, b6, b7, b8 = bytes:byte(1, 8)
  local sign = b8 >= 128 and -1 or 1
  local exponent = (b8 % 128) * 16 + math.floor(b7 / 16)
  local mantissa = ((((((b7 % 16) * 256 + b6) * 256 + b5) * 256 + b4) * 256 + b3) * 256 + b2) * 256 + b1
  if exponent == 0 then
    return sign * math.ldexp(mantissa, -1074)
  elseif exponent == 2047 then
    if mantissa == 0 then
      return sign * math.huge
    end
    return 0 / 0
  end
  return sign * math.ldexp(mantissa + 2 ^ 52, exponent - 1075)
end

local decode_struct

-- google.protobuf.Value → a JSON value, as json_format.MessageToDict renders it.
local function decode_value(data, depth)
  if depth > NESTING_DEPTH_MAX then
    error("nested too deeply")
  end
  local result = nil
  each_field(data, function(number, wire_type, value)
    if number == 1 then
      expect_wire(wire_type, WIRE_VARINT)
      result = JSON_NULL
    elseif number == 2 then
      expect_wire(wire_type, WIRE_FIXED64)
      local double = decode_double(value)
      if double ~= double or double == math.huge or double == -math.huge then
        -- json_format refuses these too ("Fail to serialize Infinity/NaN").
        error("non-finite number in details")
      end
      result = double
    elseif number == 3 then
      expect_wire(wire_type, WIRE_BYTES)
      result = value
    elseif number == 4 then
      expect_wire(wire_type, WIRE_VARINT)
      result = value ~= 0
    elseif number == 5 then
      expect_wire(wire_type, WIRE_BYTES)
      result = decode_struct(value, depth + 1)
    elseif number == 6 then
      expect_wire(wire_type, WIRE_BYTES)
      local list = new_array()
      each_field(value, function(item_number, item_wire, item)
        if item_number == 1 then
          expect_wire(item_wire, WIRE_BYTES)
          list.items[#list.items + 1] = decode_value(item, depth + 2)
        end
      end)
      result = list
    end
  end)
  if result == nil then
    -- A Value with no kind set: json_format renders it as null.
    return JSON_NULL
  end
  return result
end

-- google.protobuf.Struct → a JSON object.
decode_struct = function(data, depth)
  if depth > NESTING_DEPTH_MAX then
    error("nested too deeply")
  end
  local object = new_object()
  each_field(data, function(number, wire_type, entry)
    if number ~= 1 then
      return
    end
    expect_wire(wire_type, WIRE_BYTES)
    local key, value = "", nil
    each_field(entry, function(entry_number, entry_wire, entry_value)
      if entry_number == 1 then
        expect_wire(entry_wire, WIRE_BYTES)
        key = entry_value
      elseif entry_number == 2 then
        expect_wire(entry_wire, WIRE_BYTES)
        value = entry_value
      end
    end)
    -- A map entry without a value holds the value's default: a Value with no kind.
    object_set(object, key, decode_value(value or "", depth + 1))
  end)
  return object
end

-- google.rpc.Status → { details = { {type_url, value}, ... } } (code and message are
-- read from the grpc-status and grpc-message headers, as the Python gateway does).
local function decode_status_proto(data)
  local details = {}
  each_field(data, function(number, wire_type, value)
    if number == 3 then
      expect_wire(wire_type, WIRE_BYTES)
      local any = { type_url = "", value = "" }
      each_field(value, function(any_number, any_wire, any_value)
        if any_number == 1 then
          expect_wire(any_wire, WIRE_BYTES)
          any.type_url = any_value
        elseif any_number == 2 then
          expect_wire(any_wire, WIRE_BYTES)
          any.value = any_value
        end
      end)
      details[#details + 1] = any
    end
  end)
  return details
end

-- google.rpc.ErrorInfo → reason, domain, metadata (a plain table).
local function decode_error_info(data)
  local info = { reason = "", domain = "", metadata = {} }
  each_field(data, function(number, wire_type, value)
    if number == 1 then
      expect_wire(wire_type, WIRE_BYTES)
      info.reason = value
    elseif number == 2 then
      expect_wire(wire_type, WIRE_BYTES)
      info.domain = value
    elseif number == 3 then
      expect_wire(wire_type, WIRE_BYTES)
      local key, entry_value = "", ""
      each_field(value, function(entry_number, entry_wire, item)
        expect_wire(entry_wire, WIRE_BYTES)
        if entry_number == 1 then
          key = item
        elseif entry_number == 2 then
          entry_value = item
        end
      end)
      info.metadata[key] = entry_value
    end
  end)
  return info
end

-- payment_engine.common.v1.ErrorDetails → its `details` Struct as a JSON object.
local function decode_error_details(data)
  local details = new_object()
  each_field(data, function(number, wire_type, value)
    if number == 1 then
      expect_wire(wire_type, WIRE_BYTES)
      details = decode_struct(value, 1)
    end
  end)
  return details
end

-- Any.Is(): a type URL names its message after its last "/", and must have one.
local function any_type_name(type_url)
  if not type_url:find("/", 1, true) then
    return nil
  end
  return type_url:match("([^/]*)$")
end

---------------------------------------------------------------------------------------
-- Errors: what corelib.errors.decode_status and gateway.backends.error_from_rpc do.

local function new_error(reason, message, details, metadata)
  if message == nil or message == "" then
    message = ERROR_CODES[reason].message
  end
  return { reason = reason, message = message, details = details or new_object(), metadata = metadata or {} }
end

local function decode_details_bin(error_value, details_bin)
  local ok, anys = pcall(decode_status_proto, details_bin)
  if not ok then
    -- decode_status treats an unreadable Status as one without details.
    return
  end
  for _, any in ipairs(anys) do
    local type_name = any_type_name(any.type_url)
    if type_name == TYPE_ERROR_INFO then
      local info = decode_error_info(any.value)
      if info.domain == ERROR_DOMAIN and ERROR_CODES[info.reason] ~= nil then
        error_value.reason = info.reason
        error_value.metadata = info.metadata
      end
    elseif type_name == TYPE_ERROR_DETAILS then
      error_value.details = decode_error_details(any.value)
    end
  end
end

-- A failed call's status → the error the envelope reports.
local function decode_grpc_error(code, grpc_message, details_text)
  local details_bin = nil
  if details_text ~= nil and details_text ~= "" then
    details_bin = base64_decode(details_text) or ""
  end
  local error_value = {
    reason = REASON_BY_GRPC_CODE[code] or "INTERNAL_ERROR",
    details = new_object(),
    metadata = {},
  }
  -- Without the engine's status details the text is gRPC's own ("failed to connect to
  -- all addresses; …") and names hosts: the code's default message is shown instead.
  local message = ""
  if details_text ~= nil and details_text ~= "" then
    message = percent_decode(grpc_message or "")
  end
  if details_bin ~= nil and details_bin ~= "" then
    -- A details message that is present but broken is a bug in a service: the Python
    -- gateway crashes on it and answers INTERNAL_ERROR, and so does this edge.
    local ok = pcall(decode_details_bin, error_value, details_bin)
    if not ok then
      return new_error("INTERNAL_ERROR")
    end
  end
  if error_value.reason == "INTERNAL_ERROR" then
    -- Internal failures never leak their text to callers.
    message = ""
  end
  return new_error(error_value.reason, message, error_value.details, error_value.metadata)
end

local function envelope_body(error_value, request_id)
  local inner = new_object()
  object_set(inner, "code", error_value.reason)
  object_set(inner, "message", error_value.message)
  object_set(inner, "details", error_value.details)
  object_set(inner, "timestamp", os.date("!%Y-%m-%dT%H:%M:%SZ"))
  object_set(inner, "requestId", request_id)
  local outer = new_object()
  object_set(outer, "error", inner)
  local ok, body = pcall(json_encode, outer)
  if ok then
    return body
  end
  -- Details that do not serialize must not turn one error into another.
  object_set(inner, "details", new_object())
  return json_encode(outer)
end

---------------------------------------------------------------------------------------
-- Envoy's own local replies (the request never reached a service, or never came back).

local function shown_path(path)
  local bare = (path or ""):gsub("%?.*$", "")
  local decoded = percent_decode(bare)
  return decoded:sub(1, PATH_SHOWN_MAX)
end

local function local_reply_error(status, headers, body_text, request)
  local reason = LOCAL_REPLY_REASONS[status]
  if reason == nil then
    reason = status >= 500 and "INTERNAL_ERROR" or "INVALID_REQUEST"
  end
  if reason == "NOT_FOUND" then
    return new_error(reason, "No endpoint " .. request.method .. " " .. shown_path(request.path))
  elseif reason == "METHOD_NOT_ALLOWED" then
    local details = new_object()
    local allowed = new_array()
    for _, method in ipairs(split_commas(headers:get("allow") or "")) do
      allowed.items[#allowed.items + 1] = method
    end
    object_set(details, "allowedMethods", allowed)
    return new_error(reason, "Method " .. request.method .. " is not allowed here", details)
  elseif reason == "PAYLOAD_TOO_LARGE" then
    local details = new_object()
    object_set(details, "maxBytes", BODY_BYTES_MAX)
    return new_error(reason, "Request body larger than " .. BODY_BYTES_MAX .. " bytes", details)
  elseif reason == "INVALID_REQUEST" and body_text ~= "" then
    -- The transcoder's words on a body or query it could not map.
    return new_error(reason, body_text:sub(1, LOCAL_REPLY_TEXT_SHOWN_MAX))
  end
  return new_error(reason)
end

---------------------------------------------------------------------------------------
-- Request ids.

local function is_safe_request_id(value)
  return value ~= nil and #value > 0 and #value <= REQUEST_ID_LENGTH_MAX and not value:find("[^\33-\126]")
end

local random_seeded = false

-- Only for a caller's unusable X-Request-Id (an absent one gets Envoy's UUID): unique
-- enough to find log lines, not a secret.
local function new_request_id()
  if not random_seeded then
    local address = tonumber((tostring({}):match("0x(%x+)") or "0"), 16) or 0
    math.randomseed((os.time() + address + math.floor(os.clock() * 1e6)) % 2147483647)
    random_seeded = true
  end
  local chars = {}
  for index = 1, REQUEST_ID_RANDOM_CHARS do
    local pick = math.random(1, #ID_ALPHABET)
    chars[index] = ID_ALPHABET:sub(pick, pick)
  end
  return "req_" .. table.concat(chars)
end

---------------------------------------------------------------------------------------
-- Rate limit headers: each local rate limiter reports its own bucket; the caller sees
-- the tightest one.

local RATE_LIMIT_HEADERS = { "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset" }

local function publish_rate_limit(headers, limited)
  local limits = split_commas(headers:get("x-ratelimit-limit") or "")
  local remaining = split_commas(headers:get("x-ratelimit-remaining") or "")
  local resets = split_commas(headers:get("x-ratelimit-reset") or "")
  for _, name in ipairs(RATE_LIMIT_HEADERS) do
    headers:remove(name)
  end
  local tightest = nil
  for index = 1, math.min(#limits, #remaining, #resets) do
    local left = tonumber(remaining[index])
    if left ~= nil and tonumber(limits[index]) ~= nil and tonumber(resets[index]) ~= nil then
      if tightest == nil or left < tonumber(remaining[tightest]) then
        tightest = index
      end
    end
  end
  if tightest ~= nil then
    headers:replace("ratelimit-limit", limits[tightest])
    headers:replace("ratelimit-remaining", remaining[tightest])
    headers:replace("ratelimit-reset", resets[tightest])
  end
  if limited and headers:get("retry-after") == nil then
    local retry_after = tightest ~= nil and tonumber(resets[tightest]) or RATE_LIMIT_WINDOW_S
    headers:replace("retry-after", tostring(math.max(1, math.ceil(retry_after))))
  end
end

---------------------------------------------------------------------------------------
-- The filter.

local function request_facts(handle)
  local facts = handle:streamInfo():dynamicMetadata():get(METADATA_NAMESPACE) or {}
  return {
    request_id = facts.request_id or new_request_id(),
    method = facts.method or "",
    path = facts.path or "",
  }
end

local function body_text_of(handle)
  local body = handle:body(true)
  if body == nil or body:length() == 0 then
    return body, ""
  end
  return body, body:getBytes(0, body:length())
end

local function replace_body(handle, headers, text)
  local body = handle:body(true)
  body:setBytes(text)
  headers:replace("content-length", tostring(#text))
  headers:replace("content-type", "application/json")
end

local function strip_grpc_headers(map)
  if map ~= nil then
    map:remove("grpc-status")
    map:remove("grpc-message")
    map:remove(STATUS_DETAILS_HEADER)
  end
end

local function send_error(handle, headers, error_value, request)
  headers:replace(":status", tostring(ERROR_CODES[error_value.reason].status))
  local retry_after = error_value.metadata.retryAfterSeconds
  if retry_after ~= nil and retry_after:match("^%d+$") then
    headers:replace("retry-after", retry_after)
  end
  replace_body(handle, headers, envelope_body(error_value, request.request_id))
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local request_id = headers:get("x-request-id")
  if not is_safe_request_id(request_id) then
    request_id = new_request_id()
    headers:replace("x-request-id", request_id)
  end
  headers:remove(PRINCIPAL_HEADER)
  headers:remove(RATE_LIMIT_SUBJECT_HEADER)
  local metadata = handle:streamInfo():dynamicMetadata()
  metadata:set(METADATA_NAMESPACE, "request_id", request_id)
  metadata:set(METADATA_NAMESPACE, "method", headers:get(":method") or "")
  metadata:set(METADATA_NAMESPACE, "path", headers:get(":path") or "")
end

function envoy_on_response(handle)
  local headers = handle:headers()
  local request = request_facts(handle)
  local status = tonumber(headers:get(":status")) or 500
  local grpc_status = headers:get("grpc-status")
  local limited = false

  if grpc_status ~= nil and grpc_status ~= "0" then
    -- A trailers-only answer carries everything in the headers; otherwise the
    -- transcoder has copied grpc-status and grpc-message up and the details stay in
    -- the trailers.
    local details_text = headers:get(STATUS_DETAILS_HEADER)
    local trailers = nil
    if details_text == nil then
      trailers = handle:trailers()
      if trailers ~= nil then
        details_text = trailers:get(STATUS_DETAILS_HEADER)
      end
    end
    local error_value = decode_grpc_error(tonumber(grpc_status) or -1, headers:get("grpc-message"), details_text)
    strip_grpc_headers(headers)
    strip_grpc_headers(trailers)
    -- A service's own RATE_LIMIT_EXCEEDED (login throttling) says when to retry in its
    -- ErrorInfo, as the Python gateway reads it; the edge's buckets have no say.
    send_error(handle, headers, error_value, request)
  elseif status >= 400 then
    local _, text = body_text_of(handle)
    local content_type = headers:get("content-type") or ""
    local is_envelope = content_type:find("application/json", 1, true) == 1
      and text:sub(1, #ENVELOPE_PREFIX) == ENVELOPE_PREFIX
    -- ext_authz denials arrive as envelopes already (the auth service builds them).
    if not is_envelope then
      local error_value = local_reply_error(status, headers, text, request)
      send_error(handle, headers, error_value, request)
    end
    -- Envoy's own limiter: its bucket says when to retry.
    limited = status == 429
  else
    local success_status = handle:metadata():get("success_status")
    if status == 200 and success_status ~= nil then
      headers:replace(":status", tostring(success_status))
    end
  end

  strip_grpc_headers(headers)
  publish_rate_limit(headers, limited)
  headers:replace("x-request-id", request.request_id)
  -- Tokens and balances must not sit in shared caches (as the Python gateway says).
  headers:replace("cache-control", "no-store")
end
