-- The write mix: through /api/v1 with a bearer token, every other request creates a
-- published post, the others comment on one post. Run as
--   wrk -s bench/write_mix.lua http://host:port/ -- <access token> <post slug> [run tag]
-- Titles carry the run tag, the thread and a counter, so concurrent requests never race for
-- the same slug (a lost race would be a 409, counted as an error).

local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_id", next_thread)
end

local counter = 0

function init(args)
  token = args[1]
  slug = args[2]
  run_tag = args[3] or tostring(os.time())
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json"
end

function request()
  counter = counter + 1
  if counter % 2 == 1 then
    local body = string.format(
      '{"title": "Benchmark run %s thread %d post %d", '
        .. '"body": "Written by **wrk** during a benchmark, request %d.\\n\\n- one\\n- two", '
        .. '"summary": "A post the benchmark wrote.", "tags": ["benchmark"], "published": true}',
      run_tag, thread_id or 0, counter, counter)
    return wrk.format("POST", "/api/v1/posts", nil, body)
  end
  return wrk.format("POST", "/api/v1/posts/" .. slug .. "/comments", nil,
    '{"body": "A comment the benchmark wrote."}')
end
