// Command fastproxy is the floor a Go proxy is measured against: a bare fasthttp
// passthrough that forwards every request (method, path, headers, body) to one upstream
// through a fasthttp.HostClient and copies the response back. It does nothing else; any
// work Sluice adds on top of this shows up as CPU per request above this process's.
package main

import (
	"flag"
	"log"

	"github.com/valyala/fasthttp"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9201", "address to serve on")
	upstream := flag.String("upstream", "127.0.0.1:9100", "upstream host:port (plain HTTP)")
	flag.Parse()

	client := &fasthttp.HostClient{Addr: *upstream, MaxConns: 4096}
	handler := func(ctx *fasthttp.RequestCtx) {
		ctx.Request.Header.Del("Connection") // hop-by-hop: never forwarded
		if err := client.Do(&ctx.Request, &ctx.Response); err != nil {
			ctx.Error("upstream: "+err.Error(), fasthttp.StatusBadGateway)
			return
		}
		ctx.Response.Header.Del("Connection")
	}
	log.Printf("fastproxy: %s -> %s", *listen, *upstream)
	log.Fatal(fasthttp.ListenAndServe(*listen, handler))
}
