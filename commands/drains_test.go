package commands

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway"
)

// drainRecorder is an Apps with log drains that records what the drains
// commands asked for.
type drainRecorder struct {
	unexpected
	calls  []string
	drains []slipway.LogDrain
}

func (r *drainRecorder) LogDrains(_ context.Context, app string) ([]slipway.LogDrain, error) {
	r.calls = append(r.calls, "list "+app)
	return r.drains, nil
}

func (r *drainRecorder) AddLogDrain(_ context.Context, app, url string, _ io.Writer) error {
	r.calls = append(r.calls, "add "+app+" "+url)
	return nil
}

func (r *drainRecorder) RemoveLogDrain(_ context.Context, app, which string, _ io.Writer) error {
	r.calls = append(r.calls, "remove "+app+" "+which)
	return nil
}

func TestDrains_ParseTheirWords(t *testing.T) {
	checkWords(t, func() (Apps, *[]string) { r := &drainRecorder{}; return r, &r.calls }, []wordsCase{
		{"drains", []string{"shop"}, "list shop"},
		{"drains", []string{"shop", "--json"}, "list shop"},
		{"drains", nil, "usage: drains NAME"},
		{"drains:add", []string{"shop", "syslog://logs.example.com:514"}, "add shop syslog://logs.example.com:514"},
		{"drains:add", []string{"shop"}, "usage: drains:add NAME URL"},
		{"drains:add", []string{"Shop", "syslog://x"}, "invalid app name"},
		{"drains:remove", []string{"shop", "3f2a9c1d"}, "remove shop 3f2a9c1d"},
		{"drains:remove", []string{"shop", "a", "b"}, "usage: drains:remove NAME URL|ID"},
	})
}

// drains shows each drain's id, masked URL, state and counts, and the
// last error of one that fails, on one line each.
func TestDrains_ListsStateAndCounts(t *testing.T) {
	since := time.Now().Add(-3 * time.Minute)
	r := &drainRecorder{drains: []slipway.LogDrain{
		{ID: "3f2a9c1d", URL: "syslog+tls://logs.example.com:6514", State: slipway.DrainConnected, Since: since, Sent: 1234},
		{ID: "0badf00d", URL: "https://***@logs.example.com/x?***", State: slipway.DrainRetrying, Since: since, Dropped: 5, Queued: 10000,
			LastError: "POST to logs.example.com: answered 503\nService Unavailable"},
	}}
	var out strings.Builder
	if err := Run(t.Context(), r, "drains", []string{"shop"}, nil, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("output:\n%s", out.String())
	}
	for i, want := range [][]string{
		{"ID", "URL", "STATE", "SENT", "DROPPED", "QUEUED", "LAST ERROR"},
		{"3f2a9c1d", "syslog+tls://logs.example.com:6514", "connected for 3m", "1234", "0", "0", "-"},
		{"0badf00d", "https://***@logs.example.com/x?***", "retrying for 3m", "0", "5", "10000", "answered 503"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
	out.Reset()
	if err := Run(t.Context(), &drainRecorder{}, "drains", []string{"shop"}, nil, &out); err != nil || !strings.Contains(out.String(), "shop has no drains") {
		t.Errorf("no drains: %q, %v", out.String(), err)
	}
}
