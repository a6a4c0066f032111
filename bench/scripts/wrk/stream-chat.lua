-- wrk script: a streamed chat completion (the mock answers 16 tokens as SSE)
-- with the bench key; for cpu-compare.sh -l.
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hello there, how are you?"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-0001"
