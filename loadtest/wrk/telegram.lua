-- wrk script: POSTs unique, realistic Telegram updates to one channel, with the secret-token
-- header, so every request is a new event (no dedupe short-cut).
--   wrk -t2 -c32 -d20s --latency -s loadtest/wrk/telegram.lua \
--       http://127.0.0.1:8080/webhooks/acme/tg
-- SB_TG_SECRET overrides the secret token (default: the example config's dev value).
-- SB_TG_CHATS: how many chats (conversations) the updates cycle through (default 10000).
-- SB_TG_FIRST: added to every update_id (default 0), so a second run's updates are new ones.

local secret = os.getenv("SB_TG_SECRET") or "dev-tg-secret-token"
local chats = tonumber(os.getenv("SB_TG_CHATS") or "10000")
local first = tonumber(os.getenv("SB_TG_FIRST") or "0")
local counter = 0

local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
end

local template = '{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,' ..
  '"first_name":"Load","last_name":"Tester","language_code":"en"},"chat":{"id":%d,' ..
  '"first_name":"Load","last_name":"Tester","type":"private"},"date":1749416383,' ..
  '"text":"Hello, is my order #1001 on its way? I ordered it last week."}}'

function request()
  counter = counter + 1
  local update_id = first + (thread_id or 0) * 100000000 + counter
  local chat = 1000 + (counter % chats)
  local body = string.format(template, update_id, counter, chat, chat)
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["X-Telegram-Bot-Api-Secret-Token"] = secret,
  }, body)
end

function done(summary, latency, requests)
  io.write(string.format("requests: %d, non-2xx/3xx: %d, errors (connect/read/write/timeout):"
    .. " %d/%d/%d/%d\n", summary.requests, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
  for _, p in pairs({50, 90, 99, 99.9}) do
    io.write(string.format("p%g: %.3f ms\n", p, latency:percentile(p) / 1000.0))
  end
end
