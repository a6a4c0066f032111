package provider

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpproxy"
	"golang.org/x/net/http/httpproxy"

	"github.com/sluice-gw/sluice/internal/config"
	"github.com/sluice-gw/sluice/internal/provider/bedrock"
	"github.com/sluice-gw/sluice/internal/provider/wire"
)

// MaxResponseBody bounds a buffered (non-streamed) upstream reply.
const MaxResponseBody = 256 << 20

// Upstream is one configured provider: where it is, how to authenticate to
// it, which client headers it may see, and the connection pool to it.
type Upstream struct {
	name         string
	kind         kind
	format       Format
	hooks        *wire.Hooks // format's
	scheme, host []byte      // host is host[:port] as sent in Host
	basePath     string      // e.g. "/v1", no trailing slash
	keys         []upKey
	keyWeight    int // sum of the keys' weights
	next         atomic.Uint32
	headers      headerPolicy
	includeUsage bool
	version      []byte          // the API version the format's Authorize sends (anthropic_version)
	azureQuery   []byte          // Azure: the query every request carries (api-version)
	signer       *bedrock.Signer // Bedrock: SigV4; nil for the other kinds
	timeouts     Timeouts
	addr         string   // host:port dialled
	pool         connPool // one slot per connection (pool.go)
}

// Timeouts are an upstream's resolved timeouts.
type Timeouts struct {
	Connect, FirstByte, Idle, Total time.Duration
}

// NewUpstream builds the client of one provider from its (defaulted,
// validated) config.
func NewUpstream(p *config.Provider) (*Upstream, error) {
	f, ok := ParseFormat(kindFormat(p.Kind))
	if !ok {
		return nil, fmt.Errorf("provider %s: unknown kind %q", p.Name, p.Kind)
	}
	u, err := url.Parse(p.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("provider %s: base_url %q is not an absolute http(s) URL", p.Name, p.BaseURL)
	}
	up := &Upstream{
		name:         p.Name,
		kind:         kindOf(p.Kind),
		format:       f,
		hooks:        f.Hooks(),
		scheme:       []byte(u.Scheme),
		host:         []byte(u.Host),
		basePath:     strings.TrimRight(u.EscapedPath(), "/"),
		headers:      newHeaderPolicy(p.Headers.Allow, p.Headers.Deny),
		includeUsage: p.UsageInjection(),
		version:      []byte(p.AnthropicVersion),
		timeouts: Timeouts{
			Connect:   orDefault(p.Timeouts.Connect.D(), config.DefaultConnectTimeout),
			FirstByte: orDefault(p.Timeouts.FirstByte.D(), config.DefaultFirstByteTimeout),
			Idle:      orDefault(p.Timeouts.Idle.D(), config.DefaultIdleReadTimeout),
			Total:     orDefault(p.Timeouts.Total.D(), config.DefaultTotalTimeout),
		},
	}
	if len(up.version) == 0 {
		up.version = []byte(up.hooks.DefaultVersion)
	}
	if up.kind == kindGemini {
		// base_url is the API's root; one written with its version (as
		// Google's REST docs show it) means the same.
		up.basePath = strings.TrimSuffix(up.basePath, "/v1beta")
	}
	if up.kind == kindBedrock {
		creds := bedrock.Credentials{AccessKeyID: p.AccessKeyID.Reveal(), SecretAccessKey: p.SecretAccessKey.Reveal(), SessionToken: p.SessionToken.Reveal()}
		if creds.AccessKeyID == "" {
			// The config wins; else the standard AWS variables, and
			// nothing else (no profile, no instance metadata).
			var ok bool
			if creds, ok = bedrock.CredentialsFromEnv(os.Getenv); !ok {
				return nil, fmt.Errorf("provider %s: no AWS credentials: set access_key_id and secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in Sluice's environment", p.Name)
			}
		}
		up.signer = bedrock.NewSigner(p.Region, creds)
	}
	if up.kind == kindAzure {
		up.version = []byte(p.APIVersion)
		up.azureQuery = []byte("api-version=" + url.QueryEscape(p.APIVersion))
	}
	for _, k := range p.APIKeys {
		if k.Key.Reveal() != "" {
			up.keys = append(up.keys, upKey{header: up.keyValue(k.Key.Reveal()), weight: k.KeyWeight()})
			up.keyWeight += k.KeyWeight()
		}
	}
	isTLS := u.Scheme == "https"
	addr := u.Host
	if u.Port() == "" {
		if isTLS {
			addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	var tlsCfg *tls.Config
	if isTLS {
		var err error
		if tlsCfg, err = tlsConfig(p.CAFile, u.Hostname()); err != nil {
			return nil, fmt.Errorf("provider %s: %w", p.Name, err)
		}
	}
	dial, err := up.dialer(p, isTLS, tlsCfg)
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", p.Name, err)
	}
	maxConns := p.MaxConns
	if maxConns <= 0 {
		maxConns = config.DefaultMaxConns
	}
	up.addr = addr
	up.pool = connPool{max: maxConns, dial: dial, newHC: func(dial fasthttp.DialFunc) *fasthttp.HostClient {
		return &fasthttp.HostClient{
			Addr:      addr,
			Name:      "sluice",
			IsTLS:     isTLS,
			TLSConfig: tlsCfg,
			Dial:      dial,
			MaxConns:  1, // one slot, one connection (pool.go)
			// Upstreams close idle keep-alive connections on their own
			// schedule (uvicorn after 5 s, nginx after 75 s); a POST that
			// finds its pooled connection closed before any reply byte is
			// retried once on a fresh one instead of failing with 502.
			RetryIfErr: retryStaleConn,
			// Deadlines are armed by the connections (deadlineConn),
			// coarsely; fasthttp's own timeouts stay off.
			MaxIdleConnDuration:           90 * time.Second,
			MaxResponseBodySize:           MaxResponseBody,
			DisablePathNormalizing:        true,
			NoDefaultUserAgentHeader:      true,
			DisableHeaderNamesNormalizing: false,
			// Per-connection buffers: the read buffer also bounds the reply
			// headers; bodies are streamed or grown separately.
			ReadBufferSize:  4 << 10,
			WriteBufferSize: 4 << 10,
		}
	}}
	return up, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// dialer returns a dial function honouring the configured proxy (or the
// HTTP(S)_PROXY / NO_PROXY environment) and the connect timeout, whose
// connections enforce the idle timeout.
func (up *Upstream) dialer(p *config.Provider, isTLS bool, tlsCfg *tls.Config) (fasthttp.DialFunc, error) {
	d := &fasthttpproxy.Dialer{
		TCPDialer:      fasthttp.TCPDialer{Concurrency: 0},
		Timeout:        up.timeouts.Connect,
		ConnectTimeout: up.timeouts.Connect,
		DialDualStack:  true,
	}
	useEnv := true
	if p.Proxy != "" {
		useEnv = false
		d.Config = httpproxy.Config{HTTPProxy: p.Proxy, HTTPSProxy: p.Proxy}
	}
	inner, err := d.GetDialFuncForTLS(useEnv, isTLS)
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	idle, connect := up.timeouts.Idle, up.timeouts.Connect
	first := up.timeouts.FirstByte
	if t := up.timeouts.Total; t > 0 && (first <= 0 || t < first) {
		first = t
	}
	return func(addr string) (net.Conn, error) {
		c, err := inner(addr)
		if err != nil {
			return nil, &ConnectError{Err: err}
		}
		if tlsCfg == nil {
			return &deadlineConn{Conn: c, first: first, idle: idle}, nil
		}
		// The TLS handshake happens here, under the connect timeout, so that
		// (a) an upstream that never completes it fails as a connect error
		// instead of hanging (fasthttp would run it lazily, without a read
		// deadline), and (b) deadlineConn sits above TLS and only counts
		// application bytes: TLS 1.3 session tickets that arrive after the
		// handshake must not start the idle clock before the first byte.
		tc := tls.Client(c, tlsCfg)
		_ = c.SetDeadline(time.Now().Add(connect))
		if err := tc.Handshake(); err != nil {
			_ = c.Close()
			return nil, &ConnectError{Err: fmt.Errorf("tls handshake: %w", err)}
		}
		_ = c.SetDeadline(time.Time{})
		return &tlsDeadlineConn{deadlineConn{Conn: tc, first: first, idle: idle}}, nil
	}, nil
}

// tlsDeadlineConn is a deadlineConn over an established TLS connection. Its
// Handshake method tells fasthttp the connection is TLS already, so it does
// not wrap it again.
type tlsDeadlineConn struct{ deadlineConn }

func (c *tlsDeadlineConn) Handshake() error { return nil }

func tlsConfig(caFile, serverName string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if caFile == "" {
		return cfg, nil // nil RootCAs: the system roots
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificates found", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// Name is the provider's configured name.
func (up *Upstream) Name() string { return up.name }

// Addr is the upstream's host:port.
func (up *Upstream) Addr() string { return up.addr }

// Format is the wire format the provider speaks.
func (up *Upstream) Format() Format { return up.format }

// IncludeUsage reports whether Sluice may inject stream_options.include_usage.
func (up *Upstream) IncludeUsage() bool { return up.includeUsage }

// Timeouts returns the provider's resolved timeouts.
func (up *Upstream) Timeouts() Timeouts { return up.timeouts }

// Prepare sets the upstream request's URI, Host, forwarded client headers
// and credentials. rest is the client path after its "/v1" prefix (starting
// with "/"), query the raw query string (may be empty). It returns the index
// of the provider key used (-1: none), for CoolKey.
func (up *Upstream) Prepare(req *fasthttp.Request, method []byte, rest, query []byte, client *fasthttp.RequestHeader) int {
	return up.PrepareModel(req, method, rest, query, "", client)
}

// PrepareModel is Prepare for a request to model, which the path names on
// the kinds that route by path (Azure's deployments): rest is the
// operation's path as the provider's format writes it below its base (see
// OpPath), query the client's (Azure's api-version replaces it).
func (up *Upstream) PrepareModel(req *fasthttp.Request, method []byte, rest, query []byte, model string, client *fasthttp.RequestHeader) int {
	req.Header.SetMethodBytes(method)
	uri := req.URI()
	uri.SetSchemeBytes(up.scheme)
	uri.SetHostBytes(up.host)
	// Path and query go in as sent: DisablePathNormalizing keeps them intact.
	b := append(uri.Path()[:0], up.basePath...)
	if up.kind == kindAzure {
		b, query = up.azurePath(b, rest, model, query)
	} else {
		b = append(b, rest...)
	}
	uri.SetPathBytes(b)
	uri.SetQueryStringBytes(query)
	if client != nil {
		up.headers.forward(&req.Header, client)
	}
	return up.authorize(req)
}

// upKey is one of a provider's own keys, with its pre-rendered header
// value and the time until which it is set aside.
type upKey struct {
	header []byte       // the key as the format's KeyValue renders it
	weight int          // share of requests
	until  atomic.Int64 // unix nanoseconds; 0: in service
}

// pickKey returns the index of a key by weight that is not cooling down;
// when all are, the one that recovers first. -1: no keys.
func (up *Upstream) pickKey() int {
	n := len(up.keys)
	switch n {
	case 0:
		return -1
	case 1:
		return 0
	}
	// The weighted choice of the start; from there the first key in service.
	start := 0
	if up.keyWeight > 0 {
		w := int(up.next.Add(1)-1) % up.keyWeight
		for start < n-1 && w >= up.keys[start].weight {
			w -= up.keys[start].weight
			start++
		}
	} else {
		start = int(up.next.Add(1)-1) % n
	}
	now := time.Now().UnixNano()
	best, bestUntil := start, int64(math.MaxInt64)
	for i := 0; i < n; i++ {
		j := (start + i) % n
		u := up.keys[j].until.Load()
		if u <= now {
			return j
		}
		if u < bestUntil {
			best, bestUntil = j, u
		}
	}
	return best
}

// CoolKey sets key i (as Prepare returned it) aside for d: the upstream
// answered 429 or 401 to it. Other keys take its turns meanwhile.
func (up *Upstream) CoolKey(i int, d time.Duration) {
	if i < 0 || i >= len(up.keys) || len(up.keys) == 1 {
		return
	}
	up.keys[i].until.Store(time.Now().Add(d).UnixNano())
}

// OtherKeyReady reports whether a provider key other than i (as Prepare
// returned it) is in service now: whether the provider can still take a
// request once key i was refused. A provider with one key (or none) has
// no other.
func (up *Upstream) OtherKeyReady(i int) bool {
	now := time.Now().UnixNano()
	for j := range up.keys {
		if j != i && up.keys[j].until.Load() <= now {
			return true
		}
	}
	return false
}

func (up *Upstream) authorize(req *fasthttp.Request) int {
	i := up.pickKey()
	var key []byte
	if i >= 0 {
		key = up.keys[i].header
	}
	switch up.kind {
	case kindAzure:
		if key != nil {
			req.Header.SetCanonical(strAPIKey, key)
		}
	default:
		up.hooks.Authorize(&req.Header, key, up.version)
	}
	return i
}

// Do sends req and reads the reply headers (and the body unless
// resp.StreamBody is set) as call c, which another goroutine may cancel
// meanwhile (Call.Cancel). Dialing and the TLS handshake are bounded by the
// connect timeout; the first-byte timeout (bounded by the total timeout)
// bounds sending and the wait for reply bytes; once they flow, each read
// has the idle timeout (deadlineConn). Callers enforce the total timeout
// on streamed bodies themselves.
//
// c carries one exchange at a time: Do first releases the slot of c's
// previous one. A streamed reply keeps its slot until the caller, having
// closed the body stream, calls c.Release; every other outcome releases it
// before Do returns. The error of a cancelled call has KindCancelled.
func (up *Upstream) Do(req *fasthttp.Request, resp *fasthttp.Response, c *Call) error {
	c.Release()
	s, err := up.pool.acquire(c)
	if err == nil {
		err = s.hc.Do(req, resp)
	}
	if err != nil || resp.BodyStream() == nil {
		c.Release()
	}
	if err != nil {
		if c.Cancelled() {
			return &UpstreamError{Kind: KindCancelled, Err: ErrCancelled}
		}
		return classify(err)
	}
	return nil
}

// retryStaleConn retries once when a reused connection turned out to be
// closed by the upstream before it sent anything.
func retryStaleConn(_ *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	if attempts != 1 {
		return false, false
	}
	// net.ErrClosed: a Cancel closed the connection while it sat idle in
	// the slot (pool.go); nothing was sent on it.
	return false, errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// ConnectError is a failure to reach the upstream at all.
type ConnectError struct{ Err error }

func (e *ConnectError) Error() string { return "connect: " + e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }

// Error kinds for metrics and error mapping.
const (
	KindConnect   = "connect"
	KindTimeout   = "timeout"
	KindReset     = "reset"
	KindMalformed = "malformed"
	KindNoConns   = "no_free_conns" // max_conns reached: Sluice sheds load
	KindCancelled = "cancelled"     // Call.Cancel: the client went away
)

// UpstreamError is a classified failure of an upstream exchange.
type UpstreamError struct {
	Kind string // one of the Kind* constants
	Err  error
}

func (e *UpstreamError) Error() string { return "upstream " + e.Kind + ": " + e.Err.Error() }
func (e *UpstreamError) Unwrap() error { return e.Err }

// IsTimeout reports whether the error is a timeout.
func (e *UpstreamError) IsTimeout() bool { return e.Kind == KindTimeout }

func classify(err error) error {
	var ce *ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce):
		return &UpstreamError{Kind: KindConnect, Err: err}
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout):
		return &UpstreamError{Kind: KindTimeout, Err: err}
	case errors.As(err, &ne) && ne.Timeout():
		return &UpstreamError{Kind: KindTimeout, Err: err}
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return &UpstreamError{Kind: KindNoConns, Err: err}
	case isParseError(err):
		return &UpstreamError{Kind: KindMalformed, Err: err}
	default:
		return &UpstreamError{Kind: KindReset, Err: err}
	}
}

// Classify turns an error from reading a streamed body into an UpstreamError.
func Classify(err error) *UpstreamError {
	var ue *UpstreamError
	if errors.As(classify(err), &ue) {
		return ue
	}
	return &UpstreamError{Kind: KindReset, Err: err}
}

// isParseError recognises fasthttp's errors for replies that are not HTTP
// (it has no exported type for them).
func isParseError(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "cannot parse") || strings.Contains(s, "cannot find") ||
		strings.Contains(s, "unexpected content-length") || strings.Contains(s, "invalid chunk")
}
