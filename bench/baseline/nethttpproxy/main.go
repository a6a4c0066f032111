// Command nethttpproxy is the standard-library contender for ADR 0001: a net/http server
// with httputil.ReverseProxy in front of one upstream, with the Transport tuned the way a
// careful operator would (a large idle pool per host, no compression negotiation, HTTP/1.1
// only like the upstream, pooled copy buffers). It exists to be measured against fastproxy.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// bufferPool hands ReverseProxy its 32 KiB copy buffers from a sync.Pool instead of
// allocating one per request (ReverseProxy's behaviour when BufferPool is nil).
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(x []byte) { b.p.Put(&x) }

func main() {
	listen := flag.String("listen", "127.0.0.1:9202", "address to serve on")
	upstream := flag.String("upstream", "127.0.0.1:9100", "upstream host:port (plain HTTP)")
	flag.Parse()

	target := &url.URL{Scheme: "http", Host: *upstream}
	transport := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   4096,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
		ResponseHeaderTimeout: 30 * time.Second,
		WriteBufferSize:       16 << 10,
		ReadBufferSize:        16 << 10,
	}
	proxy := &httputil.ReverseProxy{
		Rewrite:    func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport:  transport,
		BufferPool: newBufferPool(),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return // the client went away (wrk closing its connections at the end of a run)
			}
			log.Printf("nethttpproxy: upstream: %v", err)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	srv := &http.Server{
		Addr:              *listen,
		Handler:           proxy,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	log.Printf("nethttpproxy: %s -> %s", *listen, *upstream)
	log.Fatal(srv.ListenAndServe())
}
