-- Runs an Envoy Lua HTTP filter against a stub of Envoy's stream handle.
--
--   luajit harness.lua FILTER.lua CASES.lua
--
-- CASES.lua returns a list of cases; each runs envoy_on_request (when the case has
-- request_headers) and then envoy_on_response (when it has response_headers) on one
-- stream, and prints one JSON line with what the filter left behind. The stub follows
-- Envoy's documented Lua API (headers/get/add/replace/remove, body(always_wrap) with
-- length/getBytes/setBytes, trailers, metadata, streamInfo():dynamicMetadata()), and
-- refuses anything else, so a filter calling an API Envoy lacks fails here.

local filter_path, cases_path = arg[1], arg[2]

-- A header map: ordered (name, value) entries, names lower-cased as Envoy stores them.
local function header_map(entries)
  local map = { entries = {} }
  for _, entry in ipairs(entries or {}) do
    map.entries[#map.entries + 1] = { entry[1]:lower(), entry[2] }
  end
  local methods = {}
  function methods:get(name)
    assert(type(name) == "string", "header name must be a string")
    local values = {}
    for _, entry in ipairs(self.entries) do
      if entry[1] == name:lower() then
        values[#values + 1] = entry[2]
      end
    end
    if #values == 0 then
      return nil
    end
    -- Envoy joins repeated headers with a comma.
    return table.concat(values, ",")
  end
  function methods:add(name, value)
    assert(type(value) == "string", "header value must be a string")
    self.entries[#self.entries + 1] = { name:lower(), value }
  end
  function methods:remove(name)
    local kept = {}
    for _, entry in ipairs(self.entries) do
      if entry[1] ~= name:lower() then
        kept[#kept + 1] = entry
      end
    end
    self.entries = kept
  end
  function methods:replace(name, value)
    assert(type(value) == "string", "header value must be a string")
    for _, entry in ipairs(self.entries) do
      if entry[1] == name:lower() then
        self:remove(name)
        break
      end
    end
    self:add(name, value)
  end
  return setmetatable(map, {
    __index = function(_, key)
      return methods[key] or error("header map has no method " .. tostring(key))
    end,
  })
end

local function buffer(text)
  local object = { text = text }
  local methods = {}
  function methods:length()
    return #self.text
  end
  function methods:getBytes(index, length)
    assert(index >= 0 and index + length <= #self.text, "getBytes out of range")
    return self.text:sub(index + 1, index + length)
  end
  function methods:setBytes(value)
    assert(type(value) == "string", "setBytes takes a string")
    self.text = value
  end
  return setmetatable(object, {
    __index = function(_, key)
      return methods[key] or error("buffer has no method " .. tostring(key))
    end,
  })
end

local function strict(name, table_value)
  return setmetatable(table_value, {
    __index = function(_, key)
      error(name .. " has no method " .. tostring(key))
    end,
  })
end

local function dynamic_metadata()
  local namespaces = {}
  return strict("dynamicMetadata", {
    get = function(_, namespace)
      return namespaces[namespace]
    end,
    set = function(_, namespace, key, value)
      namespaces[namespace] = namespaces[namespace] or {}
      namespaces[namespace][key] = value
    end,
  })
end

local function new_handle(stream, headers, body_text, trailers)
  local body = nil
  if body_text ~= nil then
    body = buffer(body_text)
  end
  return strict("handle", {
    headers = function()
      return headers
    end,
    body = function(_, always_wrap)
      if body == nil and always_wrap then
        body = buffer("")
      end
      stream.body = body
      return body
    end,
    trailers = function()
      return trailers
    end,
    metadata = function()
      return strict("metadata", {
        get = function(_, key)
          return stream.route_metadata[key]
        end,
      })
    end,
    streamInfo = function()
      return strict("streamInfo", {
        dynamicMetadata = function()
          return stream.dynamic_metadata
        end,
      })
    end,
  })
end

-- Just enough JSON for the report.
local function encode(value)
  local kind = type(value)
  if kind == "string" then
    return '"' .. value:gsub('[%c"\\\128-\255]', function(char)
      return string.format("\\u%04x", char:byte())
    end) .. '"'
  elseif kind == "nil" then
    return "null"
  elseif kind == "number" or kind == "boolean" then
    return tostring(value)
  end
  local parts = {}
  if #value > 0 or next(value) == nil then
    for index, item in ipairs(value) do
      parts[index] = encode(item)
    end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  for key, item in pairs(value) do
    parts[#parts + 1] = encode(tostring(key)) .. ":" .. encode(item)
  end
  table.sort(parts)
  return "{" .. table.concat(parts, ",") .. "}"
end

local function bytes_of(text)
  -- Bytes as numbers: the body may hold UTF-8, and the report must not mangle it.
  local out = {}
  for index = 1, #text do
    out[index] = text:byte(index)
  end
  return out
end

local chunk = assert(loadfile(filter_path))
chunk()
local cases = assert(loadfile(cases_path))()

for _, case in ipairs(cases) do
  local stream = { dynamic_metadata = dynamic_metadata(), route_metadata = case.route_metadata or {} }
  local request_headers = header_map(case.request_headers)
  local ok, problem = true, nil
  if case.request_headers ~= nil then
    ok, problem = pcall(envoy_on_request, new_handle(stream, request_headers, nil, nil))
  end
  local response_headers = header_map(case.response_headers)
  local trailers = nil
  if case.response_trailers ~= nil then
    trailers = header_map(case.response_trailers)
  end
  if ok and case.response_headers ~= nil then
    ok, problem = pcall(
      envoy_on_response,
      new_handle(stream, response_headers, case.response_body, trailers)
    )
  end
  local body = stream.body and stream.body.text or case.response_body
  print(encode({
    name = case.name,
    ok = ok,
    error = problem and tostring(problem) or nil,
    request_headers = request_headers.entries,
    response_headers = response_headers.entries,
    response_trailers = trailers and trailers.entries or nil,
    body = body and bytes_of(body) or nil,
  }))
end
