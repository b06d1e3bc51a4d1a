package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkPushToLive measures what a user waits for: from `git push` to
// the new release answering through the router, for a Procfile app with no
// build step (python3's http.server).
//
//	go test ./e2e -run '^$' -bench PushToLive -benchtime 10x
func BenchmarkPushToLive(b *testing.B) {
	s := startServer(b)
	dir := s.newApp(staticApp("v0"))
	s.mustGit(dir, "remote", "add", "deploy", s.remote("bench"))
	s.mustGit(dir, "push", "deploy", "main")
	var total time.Duration
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		b.StopTimer()
		version := fmt.Sprintf("v%d", i+1)
		s.commit(dir, version, staticApp(version))
		b.StartTimer()
		start := time.Now()
		out := s.mustGit(dir, "push", "deploy", "main")
		if !strings.Contains(out, "is live") {
			b.Fatalf("push did not go live:\n%s", out)
		}
		s.wantServes("bench", "/", "hello from "+version)
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/push")
}
