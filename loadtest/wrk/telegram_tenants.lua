-- wrk script: POSTs unique Telegram updates spread over many tenants, each request to the next
-- tenant's channel: /webhooks/<prefix><n, five digits>/tg for n = 0 .. SB_TENANTS-1, every
-- channel with the same secret token (loadtest/bench_tenants.sh makes such a config).
--   SB_TENANTS=10000 wrk -t1 -c16 -d10s --latency -s loadtest/wrk/telegram_tenants.lua \
--       http://127.0.0.1:8080
-- SB_TG_SECRET: the secret token (default: the benchmark's). SB_TENANT_PREFIX (default "m").

local secret = os.getenv("SB_TG_SECRET") or "bench-tg-secret-token"
local tenants = tonumber(os.getenv("SB_TENANTS") or "1")
local prefix = os.getenv("SB_TENANT_PREFIX") or "m"
local counter = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

local template = '{"update_id":%d,"message":{"message_id":%d,"from":{"id":%d,"is_bot":false,' ..
  '"first_name":"Load","last_name":"Tester","language_code":"en"},"chat":{"id":%d,' ..
  '"first_name":"Load","last_name":"Tester","type":"private"},"date":1749416383,' ..
  '"text":"Hello, is my order #1001 on its way? I ordered it last week."}}'

function request()
  counter = counter + 1
  local update_id = (thread_id or 0) * 100000000 + counter
  local tenant = counter % tenants
  local chat = 1000 + (counter % 10000)
  local path = string.format("/webhooks/%s%05d/tg", prefix, tenant)
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["X-Telegram-Bot-Api-Secret-Token"] = secret,
  }, string.format(template, update_id, counter, chat, chat))
end

function done(summary, latency, requests)
  io.write(string.format("requests: %d, non-2xx/3xx: %d, errors (connect/read/write/timeout):"
    .. " %d/%d/%d/%d\n", summary.requests, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
  for _, p in pairs({50, 90, 99, 99.9}) do
    io.write(string.format("p%g: %.3f ms\n", p, latency:percentile(p) / 1000.0))
  end
end
