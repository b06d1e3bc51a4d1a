package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
	if first, again := logs.For("web"), logs.For("web"); first != again {
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

// logs -p router shows the router's access lines alone; -p web the web
// processes' lines, never the router's.
func TestTail_FiltersTheRouterAndProcessTypes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	log := NewAppLog(path)
	log.Line("web.1", "v3", []byte("listening"))
	log.Line("router", "", []byte("method=GET path=/ status=200"))
	log.Line("web.2", "v3", []byte("GET / 200"))
	log.Line("worker.1", "v3", []byte("job done"))
	log.Line("routers.1", "v3", []byte("a process type of the app's own"))
	log.Close()
	for _, tc := range []struct{ process, want string }{
		{"router", "router: method=GET"},
		{"web", "web.1 v3: listening|web.2 v3: GET / 200"},
		{"web.2", "web.2 v3: GET / 200"},
		{"worker", "worker.1 v3: job done"},
		{"", "web.1 v3: listening|router: method=GET|web.2 v3: GET / 200|worker.1 v3: job done|routers.1 v3: a process"},
	} {
		var out strings.Builder
		if err := Tail(t.Context(), path, LogOptions{Process: tc.process}, &out); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		want := strings.Split(tc.want, "|")
		if len(lines) != len(want) {
			t.Errorf("-p %q: %d lines, want %d:\n%s", tc.process, len(lines), len(want), out.String())
			continue
		}
		for i, l := range lines {
			if _, text, _ := strings.Cut(l, " "); !strings.HasPrefix(text, want[i]) {
				t.Errorf("-p %q: line %d is %q, want %q...", tc.process, i, l, want[i])
			}
		}
	}
}

// Lines writes a batch at once, and the sink hears each line of it.
func TestAppLog_LinesTellsTheSinkEachLine(t *testing.T) {
	layout := slipway.Layout{Root: t.TempDir()}
	sink := &sinkRecorder{}
	l := NewAppLogs(layout, sink).For("web")
	l.Lines("router", "", [][]byte{[]byte("method=GET path=/a"), []byte("method=GET path=/b\n")})
	l.Close()
	data, _ := os.ReadFile(layout.AppLog("web"))
	got := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(got) != 2 || !strings.HasSuffix(got[0], " router: method=GET path=/a") || !strings.HasSuffix(got[1], " router: method=GET path=/b") {
		t.Fatalf("app log:\n%s", data)
	}
	if len(sink.lines) != 2 || sink.lines[0] != "web|"+got[0]+"\n" || sink.lines[1] != "web|"+got[1]+"\n" {
		t.Errorf("the sink heard %q", sink.lines)
	}
}

// LineAt writes the time it is given, in the log's layout, as the sink
// hears it.
func TestAppLog_LineAtKeepsItsTime(t *testing.T) {
	sink := &sinkRecorder{}
	logs := NewAppLogs(slipway.Layout{Root: t.TempDir()}, sink)
	at := time.Date(2026, 12, 8, 10, 0, 1, 234567891, time.FixedZone("X", 3600))
	logs.For("web").LineAt(at, "web.x7k2p", "v3", []byte("printed earlier\n"))
	logs.Forget("web")
	if want := "web|2026-12-08T09:00:01.234Z web.x7k2p v3: printed earlier\n"; len(sink.lines) != 1 || sink.lines[0] != want {
		t.Errorf("heard %q, want %q", sink.lines, want)
	}
}
