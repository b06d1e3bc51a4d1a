package builder

import (
	"errors"
	"strings"
	"testing"

	"github.com/slipway/slipway"
)

func TestCheckRequest(t *testing.T) {
	sha := strings.Repeat("ab", 20)
	good := Request{App: "web-1", Version: 1, Commit: sha, RepoDir: "/srv/repo.git"}
	for _, tt := range []struct {
		name   string
		change func(*Request)
		want   string // "" for valid
	}{
		{"valid", func(*Request) {}, ""},
		{"sha256", func(r *Request) { r.Commit = strings.Repeat("0f", 32) }, ""},
		{"bad app", func(r *Request) { r.App = "../etc" }, "invalid app name"},
		{"version 0", func(r *Request) { r.Version = 0 }, "invalid release version 0"},
		{"short sha", func(r *Request) { r.Commit = "abc123" }, "invalid commit"},
		{"option", func(r *Request) { r.Commit = "--output=/tmp/x" }, "invalid commit"},
		{"upper case", func(r *Request) { r.Commit = strings.ToUpper(sha) }, "invalid commit"},
		{"no repo", func(r *Request) { r.RepoDir = "" }, "no repository"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := good
			tt.change(&req)
			err := checkRequest(req)
			if tt.want == "" {
				if err != nil {
					t.Errorf("checkRequest = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, slipway.ErrBuildFailed) {
				t.Errorf("checkRequest = %v, want a build error containing %q", err, tt.want)
			}
		})
	}
}
