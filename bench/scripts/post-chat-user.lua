-- wrk script: the shared post-chat.lua's request with an end user ("user"),
-- so that end-user limits apply (bench/configs/l1-governed.yaml).
wrk.method = "POST"
wrk.body = '{"model":"gpt-4o-mini","user":"user-0001","messages":[{"role":"user","content":"Hello there, how are you?"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-0001"
