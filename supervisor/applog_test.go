package supervisor

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/slipway/slipway"
)

// sinkRecorder is a LogSink that keeps copies of the lines it hears.
type sinkRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (s *sinkRecorder) LogLine(app string, line []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, app+"|"+string(line))
}

// Every writer of an app shares one AppLog, and the sink hears each line
// as the file has it; a line without a release names the process only.
func TestAppLogs_SharedAndToldToTheSink(t *testing.T) {
	layout := slipway.Layout{Root: t.TempDir()}
	sink := &sinkRecorder{}
	logs := NewAppLogs(layout, sink)
	if logs.For("web") != logs.For("web") {
		t.Fatal("two AppLogs for one app")
	}
	logs.For("web").Line("web.1", "v3", []byte("listening\n"))
	logs.For("web").Line("router", "", []byte("method=GET path=/"))
	logs.Forget("web")
	data, err := os.ReadFile(layout.AppLog("web"))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(got) != 2 || !strings.HasSuffix(got[0], " web.1 v3: listening") || !strings.HasSuffix(got[1], " router: method=GET path=/") {
		t.Fatalf("app log:\n%s", data)
	}
	if len(sink.lines) != 2 || sink.lines[0] != "web|"+got[0]+"\n" || sink.lines[1] != "web|"+got[1]+"\n" {
		t.Errorf("the sink heard %q, the file has %q", sink.lines, got)
	}
}
