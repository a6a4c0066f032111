// Package testenv gives tests the external services CI provides: a fresh
// PostgreSQL database per test on the shared server of SLUICE_TEST_POSTGRES,
// and a key prefix of its own on the shared Redis of SLUICE_TEST_REDIS.
//
// A test that needs a service it cannot get is skipped with a clear
// message, or fails when SLUICE_TEST_REQUIRE_SERVICES=1 (set in CI), so a
// missing service never passes silently there.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Postgres returns the URL of a fresh database on the server of
// SLUICE_TEST_POSTGRES, dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv("SLUICE_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("SLUICE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("SLUICE_TEST_POSTGRES is not set, and SLUICE_TEST_REQUIRE_SERVICES=1 requires PostgreSQL tests to run")
		}
		t.Skip("SLUICE_TEST_POSTGRES is not set: skipping the PostgreSQL tests (set it to a postgres:// URL of a server to run them)")
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("SLUICE_TEST_POSTGRES must be a postgres:// URL")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "sluice_test_" + hex.EncodeToString(b) // only [a-z0-9_]: safe as an identifier

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to SLUICE_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Redis returns the URL of the shared test Redis (SLUICE_TEST_REDIS) and a
// key prefix of the test's own, whose keys are deleted when the test ends.
func Redis(t testing.TB) (url, prefix string) {
	t.Helper()
	url = os.Getenv("SLUICE_TEST_REDIS")
	if url == "" {
		if os.Getenv("SLUICE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("SLUICE_TEST_REDIS is not set, and SLUICE_TEST_REQUIRE_SERVICES=1 requires the Redis tests to run")
		}
		t.Skip("SLUICE_TEST_REDIS is not set: skipping the Redis tests (set it to a redis:// URL of a server to run them)")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix = "sluice-test:" + hex.EncodeToString(b) + ":"
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("SLUICE_TEST_REDIS: %v", err)
	}
	t.Cleanup(func() {
		c := redis.NewClient(opt)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return url, prefix
}
