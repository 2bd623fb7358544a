package main

import (
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := quantile(d, tc.q); got != tc.want {
			t.Errorf("quantile(1..100 ms, %v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("quantile of nothing = %v, want 0", got)
	}
}

func TestWithSearchPath(t *testing.T) {
	got, err := withSearchPath("postgres://root@127.0.0.1:5432/test?sslmode=disable", "benchapi_x")
	if err != nil || got != "postgres://root@127.0.0.1:5432/test?search_path=benchapi_x&sslmode=disable" {
		t.Fatalf("withSearchPath = %q, %v", got, err)
	}
}
