package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/internal/sse"
)

// ErrPreflight wraps every failed preflight check.
var ErrPreflight = errors.New("bench: preflight failed")

// Preflight sends one request to each target, with the target's own headers but none
// of the profile's steering, and checks that it succeeds (for streams: that it ends
// with [DONE]). A target that answers with an error would be measured on its cheap
// error path, so `sluice bench` refuses to start instead.
func Preflight(ctx context.Context, cfg Config) error {
	c, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	var errs []error
	for i := range c.Targets {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := preflightOne(&c.Targets[i], c.Stream, min(c.Timeout, 10*time.Second)); err != nil {
			errs = append(errs, fmt.Errorf("target %q (%s): %w", c.Targets[i].Name, c.Targets[i].URL, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrPreflight, errors.Join(errs...))
	}
	return nil
}

func preflightOne(t *Target, stream bool, timeout time.Duration) error {
	hc, err := newClient(t, 1, timeout, stream)
	if err != nil {
		return err
	}
	defer hc.CloseIdleConnections()
	req := newRequest(t, &variant{}, stream)
	defer fasthttp.ReleaseRequest(req)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := hc.Do(req, resp); err != nil {
		return fmt.Errorf("%s: %w", errKind(err), err)
	}
	defer func() { _ = resp.CloseBodyStream() }()
	var body io.Reader = bytes.NewReader(resp.Body())
	if bs := resp.BodyStream(); bs != nil {
		body = io.LimitReader(bs, 8<<20)
	}
	if code := resp.StatusCode(); code < 200 || code > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(body, 300))
		return fmt.Errorf("status %d: %s", code, bytes.TrimSpace(snippet))
	}
	if !stream {
		return nil
	}
	sr := sse.NewReader(body, 0)
	for {
		ev, err := sr.Next()
		if err != nil {
			return fmt.Errorf("stream ended without [DONE]: %w", err)
		}
		if ev.IsDone() {
			return nil
		}
	}
}
