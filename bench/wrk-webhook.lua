-- wrk script: POSTs one real, signed pull_request delivery on every
-- request, each with its own X-GitHub-Delivery, so that an API that
-- deduplicates deliveries queues every one of them.
--
--   BODY=payload.json SIG=sha256=<hex> [WPATH=/webhook] [RUN_ID=<hex>] \
--     wrk -t2 -c32 -d10s --latency -s bench/wrk-webhook.lua URL
--
-- The delivery id is RUN_ID-THREAD-4000-8000-COUNTER in hex: unique across
-- the threads of one run (each thread gets its number in setup(), since the
-- threads' Lua states would otherwise draw the same random numbers) and,
-- with a fresh RUN_ID, across runs.

local next_thread = 0

function setup(thread)
	next_thread = next_thread + 1
	thread:set("tid", next_thread)
end

function init(args)
	local name = os.getenv("BODY")
	assert(name, "set BODY to the payload file")
	local f = assert(io.open(name, "rb"))
	body = f:read("*a")
	f:close()
	local sig = os.getenv("SIG")
	assert(sig, "set SIG to the payload's sha256= signature")
	path = os.getenv("WPATH") or "/webhook"
	run = tonumber(os.getenv("RUN_ID") or "0", 16) or 0
	headers = {
		["Content-Type"] = "application/json",
		["User-Agent"] = "GitHub-Hookshot/prscan-bench",
		["X-GitHub-Event"] = "pull_request",
		["X-Hub-Signature-256"] = sig,
	}
	n = 0
end

function request()
	n = n + 1
	headers["X-GitHub-Delivery"] = string.format(
		"%08x-%04x-4000-8000-%012x", run, tid or 0, n)
	return wrk.format("POST", path, headers, body)
end
