package builder

import (
	"strings"
	"testing"
)

// An image's slipway.processes label is checked as a Procfile is: a type
// that would climb out of the app's directories, end a log line or take
// the router's name is refused, in one line naming the label.
func TestLabelProcfile_ChecksTheTypes(t *testing.T) {
	if p, err := labelProcfile(map[string]string{"web": "serve", "clock": "tick"}); err != nil || len(p) != 2 {
		t.Fatalf("labelProcfile: %v %v", p, err)
	}
	if p, err := labelProcfile(nil); err != nil || p != nil {
		t.Fatalf("no label: %v %v", p, err)
	}
	for _, typ := range []string{"../../etc", "web\nweb.1 v1: forged", "router", ""} {
		_, err := labelProcfile(map[string]string{typ: "x"})
		if err == nil || !strings.Contains(err.Error(), "slipway.processes") || strings.Contains(err.Error(), "\n") {
			t.Errorf("type %q: %v, want one line naming the label", typ, err)
		}
	}
}
