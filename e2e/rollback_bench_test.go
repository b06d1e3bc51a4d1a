package e2e

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// rollbackAPI asks the admin API to roll app back to the release before the
// live one and returns how long the call took: from the command to the
// switch, since the API answers once the rolled-back release is live.
func (s *server) rollbackAPI(app string) time.Duration {
	s.t.Helper()
	token, err := os.ReadFile(filepath.Join(s.dataDir, "admin_token"))
	if err != nil {
		s.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.adminAddr+"/api/apps/"+app+"/rollback", strings.NewReader("{}"))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	took := time.Since(start)
	if err != nil {
		s.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("rollback: %s %s", resp.Status, body)
	}
	return took
}

// BenchmarkRollback measures a rollback from the admin API call to the
// switch: warm, when the target's pool is still draining and is
// re-promoted, and cold, when a fresh pool starts from the kept release
// directory (python3's http.server, as in the quick start).
//
//	go test ./e2e -run '^$' -bench Rollback -benchtime 10x
func BenchmarkRollback(b *testing.B) {
	for _, mode := range []string{"warm", "cold"} {
		b.Run(mode, func(b *testing.B) {
			ttl := "30m"
			if mode == "cold" {
				ttl = "1s"
			}
			s := startServer(b, "--session-ttl", ttl)
			dir := s.newApp(staticApp("v1"))
			s.mustGit(dir, "remote", "add", "deploy", s.remote("rb"))
			s.mustGit(dir, "push", "deploy", "main")
			s.commit(dir, "v2", staticApp("v2"))
			s.mustGit(dir, "push", "deploy", "main")
			var total time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if mode == "cold" {
					b.StopTimer()
					retired := strings.Count(s.logText(), `msg="release retired"`)
					waitFor(b, "the previous release to retire", func() bool {
						return strings.Count(s.logText(), `msg="release retired"`) > retired
					})
					b.StartTimer()
				}
				total += s.rollbackAPI("rb")
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/rollback")
			want := "hello from v2" // each rollback swaps v1's and v2's code
			if b.N%2 == 1 {
				want = "hello from v1"
			}
			s.wantServes("rb", "/", want)
		})
	}
}
