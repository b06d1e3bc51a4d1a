package web

import (
	"testing"
	"time"

	"github.com/slipway/slipway"
)

func TestAgo(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Minute, "just now"},
		{2 * time.Second, "just now"},
		{42 * time.Second, "42s ago"},
		{3*time.Minute + 59*time.Second, "3m ago"},
		{5 * time.Hour, "5h ago"},
		{47 * time.Hour, "47h ago"},
		{72 * time.Hour, "3d ago"},
	}
	for _, tt := range tests {
		if got := ago(t0.Add(-tt.d), t0); got != tt.want {
			t.Errorf("ago(-%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if got := ago(time.Time{}, t0); got != "—" {
		t.Errorf("ago(zero) = %q", got)
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "—"},
		{42 * time.Millisecond, "42ms"},
		{1420 * time.Millisecond, "1.4s"},
		{12340 * time.Millisecond, "12.3s"},
		{72400 * time.Millisecond, "1m12s"},
	}
	for _, tt := range tests {
		if got := duration(tt.d); got != tt.want {
			t.Errorf("duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestReleaseView(t *testing.T) {
	tests := []struct {
		r         slipway.Release
		kind      string
		pusher    string
		rollbackK bool
	}{
		{slipway.Release{Kind: "push", Status: "retired", PusherFingerprint: "SHA256:abcdefghijklmnopqrstuvwxyz"}, "push", "SHA256:abcdefghijkl…", true},
		{slipway.Release{Kind: "rollback", RollbackOf: 2, Status: "draining", PusherComment: "admin"}, "Rollback to v2", "admin", true},
		{slipway.Release{Kind: "config", Status: "live"}, "config", "—", false},
		{slipway.Release{Kind: "push", Status: "building"}, "push", "—", false},
		{slipway.Release{Kind: "push", Status: "failed"}, "push", "—", false},
		{slipway.Release{Kind: "push", Status: "retired", Pruned: true}, "push", "—", false},
	}
	for _, tt := range tests {
		v := releaseView{Release: &tt.r, now: t0}
		if v.KindLabel() != tt.kind || v.Pusher() != tt.pusher || v.CanRollback() != tt.rollbackK {
			t.Errorf("%+v: kind %q pusher %q rollback %v; want %q %q %v", tt.r, v.KindLabel(), v.Pusher(), v.CanRollback(), tt.kind, tt.pusher, tt.rollbackK)
		}
	}
}
