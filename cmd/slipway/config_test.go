package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseServeFlags_FlagsEnvAndDefaults(t *testing.T) {
	env := map[string]string{"SLIPWAY_SSH_ADDR": "127.0.0.1:0", "SLIPWAY_SESSION_TTL": "5s", "SLIPWAY_KEEP_RELEASES": "3"}
	c, err := parseServeFlags([]string{"--session-ttl", "7s", "--domain", "Apps.Example.COM."}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if tp, err := parseServeFlags([]string{"--trusted-proxies", "10.0.0.0/8, 192.0.2.7"}, func(string) string { return "" }, io.Discard); err != nil ||
		len(tp.TrustedProxies) != 2 || tp.TrustedProxies[1].String() != "192.0.2.7/32" {
		t.Errorf("--trusted-proxies: %v, %v", tp.TrustedProxies, err)
	}
	if c.SSHAddr != "127.0.0.1:0" || c.SessionTTL != 7*time.Second || c.KeepReleases != 3 || c.Domain != "apps.example.com" || c.HTTPAddr != DefaultHTTPAddr || c.UIDBase != 0 || c.UIDRegistry != "/etc/slipway/uid-ranges" {
		t.Errorf("config = %+v", c)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--session-ttl", "soon"}, nil, "want a duration"},
		{nil, map[string]string{"SLIPWAY_DRAIN_TIMEOUT": "forever"}, "SLIPWAY_DRAIN_TIMEOUT"},
		{nil, map[string]string{"SLIPWAY_KEEP_RELEASES": "0"}, "SLIPWAY_KEEP_RELEASES"},
		{[]string{"--uid-base", "1000"}, nil, "at least 100000"},
		{[]string{"--deploy-strategy", "yolo"}, nil, "use blue-green or stop-start"},
		{[]string{"--log-format", "xml"}, nil, "use text or json"},
		{[]string{"--http-server", "fast"}, nil, "use lean or net/http"},
		{nil, map[string]string{"SLIPWAY_UPSTREAM_TRANSPORT": "quic"}, "only lean is left"},
		{[]string{"--upstream-transport", "net/http"}, nil, "only lean is left"},
		{[]string{"extra"}, nil, "takes only flags"},
		{[]string{"--trusted-proxies", "10.0.0.0/8,lb.example"}, nil, "give addresses or CIDRs"},
		{[]string{"--acme-email", "a@b.example"}, nil, "needs an HTTPS listener"},
	} {
		_, err := parseServeFlags(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseServeFlags(%v, %v) = %v, want an error with %q", tc.args, tc.env, err, tc.want)
		}
	}
}

// A secret from the environment is used but never printed by --help.
func TestParseServeFlags_HelpNeverShowsASecret(t *testing.T) {
	env := map[string]string{"SLIPWAY_ADMIN_TOKEN": "env-secret-token-value-0123456789"}
	var help strings.Builder
	if _, err := parseServeFlags([]string{"--help"}, func(k string) string { return env[k] }, &help); err == nil {
		t.Fatal("--help did not stop")
	}
	if strings.Contains(help.String(), "env-secret") || !strings.Contains(help.String(), "-admin-token-file") {
		t.Errorf("--help:\n%s", help.String())
	}
	c, err := parseServeFlags(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil || c.AdminToken != env["SLIPWAY_ADMIN_TOKEN"] {
		t.Errorf("token from the environment = %q, %v", c.AdminToken, err)
	}
}

// The ssh caps' old spellings keep working: --ssh-max-per-address (and
// its variable) set the cap by network, and OpenSSH's BEGIN:RATE:FULL
// gives FULL.
func TestParseServeFlags_SSHCapsOldSpellings(t *testing.T) {
	none := func(string) string { return "" }
	for _, tc := range []struct {
		args     []string
		env      map[string]string
		perNet   int
		startups int
	}{
		{nil, nil, 10, 100},
		{[]string{"--ssh-max-per-address", "5"}, nil, 5, 100},
		{[]string{"--ssh-max-per-network", "7", "--ssh-max-startups", "10:30:60"}, nil, 7, 60},
		{nil, map[string]string{"SLIPWAY_SSH_MAX_PER_ADDRESS": "4"}, 4, 100},
		{nil, map[string]string{"SLIPWAY_SSH_MAX_PER_ADDRESS": "4", "SLIPWAY_SSH_MAX_PER_NETWORK": "6"}, 6, 100},
	} {
		getenv := none
		if tc.env != nil {
			getenv = func(k string) string { return tc.env[k] }
		}
		c, err := parseServeFlags(tc.args, getenv, io.Discard)
		if err != nil {
			t.Fatalf("%v %v: %v", tc.args, tc.env, err)
		}
		full, _ := parseStartups(c.SSHMaxStartups)
		if c.SSHMaxPerNetwork != tc.perNet || full != tc.startups {
			t.Errorf("%v %v: per network %d, startups %d; want %d, %d", tc.args, tc.env, c.SSHMaxPerNetwork, full, tc.perNet, tc.startups)
		}
	}
	if _, err := parseServeFlags([]string{"--ssh-max-startups", "10:30"}, none, io.Discard); err == nil || !strings.Contains(err.Error(), "like 100") {
		t.Errorf("--ssh-max-startups 10:30: %v", err)
	}
}
