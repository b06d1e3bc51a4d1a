package kube

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/supervisor"
)

// A pod's lines are named as the same process's on one host: a
// Deployment's pod by its type and the end of its name, a Job's by what
// it runs; an attached run's output is its caller's, not the log's.
func TestPodInstance_NamesAsOnOneHost(t *testing.T) {
	pod := func(name, typ, job string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			LabelManagedBy: ManagedBy, LabelApp: "shop", LabelRelease: "v3", LabelProcess: typ}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: typ}}}}
		if job != "" {
			p.Labels["batch.kubernetes.io/job-name"] = job
		}
		return p
	}
	for _, tc := range []struct {
		pod  *corev1.Pod
		want string // "" when not followed
	}{
		{pod("shop-v3-7d9f8c6b5-x7k2p", "web", ""), "web.x7k2p"},
		{pod("shop-v3-worker-5c4b-ab12c", "worker", ""), "worker.ab12c"},
		{pod("shop-v3-cron-2-29412345-qq7rt", "cron", "shop-v3-cron-2-29412345"), "cron.2"},
		{pod("shop-v3-release-h5k2s", ProcessRelease, "shop-v3-release"), "release.1"},
		{pod("shop-v3-run-17-zz9x8", ProcessRun, "shop-v3-run-17"), "run.17"},
		{pod("shop-v3-run-18-abcde", ProcessRun, ""), ""}, // slipway run, attached
		{&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, ""},
	} {
		in, ok := podInstance(tc.pod)
		if got := map[bool]string{true: in.id}[ok]; got != tc.want {
			t.Errorf("%s: %q, want %q", tc.pod.Name, got, tc.want)
		}
		if ok && (in.app != "shop" || in.release != "v3" || in.container != tc.pod.Labels[LabelProcess]) {
			t.Errorf("%s: %+v", tc.pod.Name, in)
		}
	}
}

// appLogLines reads an app log, one string a whole line (one being
// written is left out).
func appLogLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if i := strings.LastIndexByte(string(data), '\n'); i >= 0 {
		return strings.Split(string(data[:i]), "\n")
	}
	return nil
}

// Each line the kubelet sends goes into the app log with its own time,
// once: those up to the follower's mark are dropped. A long line is cut
// in pieces, a last line without a newline is written, and whatever a
// pod prints stays inside its own line.
func TestFollower_CopiesEachLineOnceWithItsTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	log := supervisor.NewAppLog(path)
	defer log.Close()
	t0 := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	at := func(ms int) string { return t0.Add(time.Duration(ms) * time.Millisecond).Format(time.RFC3339Nano) }
	f := &follower{in: podInstanceName{app: "shop", id: "web.x7k2p", release: "v3"}, log: log, mark: t0.Add(time.Millisecond)}
	long := strings.Repeat("x", podLogLine+100)
	stream := at(0) + " before the mark\n" +
		at(1) + " at the mark\n" +
		at(2) + " first\n" +
		at(3) + " \x00\x1b[2Jjunk\r\x7f 2026-12-08T10:00:00.000Z web.1 v9: forged\n" +
		at(4) + " " + long + "\n" +
		at(5) + " no newline at the end"
	if err := f.copy(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	lines := appLogLines(t, path)
	want := []string{
		"2026-12-08T10:00:00.002Z web.x7k2p v3: first",
		"2026-12-08T10:00:00.003Z web.x7k2p v3: \x00\x1b[2Jjunk\r\x7f 2026-12-08T10:00:00.000Z web.1 v9: forged",
	}
	if len(lines) < 2 || lines[0] != want[0] || lines[1] != want[1] {
		t.Fatalf("app log starts %q, want %q", lines[:min(2, len(lines))], want)
	}
	var pieces []string
	for _, l := range lines[2:] {
		if !strings.HasPrefix(l, "2026-12-08T10:00:00.004Z web.x7k2p v3: ") {
			break
		}
		piece := strings.TrimPrefix(l, "2026-12-08T10:00:00.004Z web.x7k2p v3: ")
		if len(piece) > podLogLine {
			t.Errorf("a piece of %d bytes, longer than %d", len(piece), podLogLine)
		}
		pieces = append(pieces, piece)
	}
	if strings.Join(pieces, "") != long || len(pieces) != 2 {
		t.Errorf("the long line came in %d pieces, %d bytes in all", len(pieces), len(strings.Join(pieces, "")))
	}
	if last := lines[len(lines)-1]; last != "2026-12-08T10:00:00.005Z web.x7k2p v3: no newline at the end" {
		t.Errorf("last line %q", last)
	}
	if !f.mark.Equal(t0.Add(5 * time.Millisecond)) {
		t.Errorf("mark %s after the stream", f.mark)
	}

	// The same stream again (a stream opened again from the same
	// second): nothing is written twice.
	n := len(lines)
	if err := f.copy(strings.NewReader(stream + "\n" + at(6) + " new\n")); err != nil {
		t.Fatal(err)
	}
	lines = appLogLines(t, path)
	if len(lines) != n+1 || lines[n] != "2026-12-08T10:00:00.006Z web.x7k2p v3: new" {
		t.Errorf("after the same stream again, %d lines (want %d), last %q", len(lines), n+1, lines[len(lines)-1])
	}
}

// A stream cut in the middle of a line leaves the line to the next one:
// it is not written cut.
func TestFollower_LeavesALineCutByTheStream(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	log := supervisor.NewAppLog(path)
	defer log.Close()
	t0 := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	f := &follower{in: podInstanceName{id: "web.a", release: "v1"}, log: log, mark: t0}
	cut := io.MultiReader(strings.NewReader(t0.Add(time.Millisecond).Format(time.RFC3339Nano)+" whole\n"+
		t0.Add(2*time.Millisecond).Format(time.RFC3339Nano)+" half"), errReader{})
	if err := f.copy(cut); err == nil {
		t.Fatal("no error from a stream cut")
	}
	if lines := appLogLines(t, path); len(lines) != 1 || !strings.HasSuffix(lines[0], "web.a v1: whole") {
		t.Errorf("app log %q, want the whole line alone", lines)
	}
}

// CRI-O stamps every line of one read with one time: each of them is
// written, and a stream opened again from that time writes none twice.
func TestFollower_WritesLinesOfOneStamp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	log := supervisor.NewAppLog(path)
	defer log.Close()
	t0 := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	f := &follower{in: podInstanceName{id: "web.a", release: "v1"}, log: log, mark: t0}
	stamp := t0.Add(time.Millisecond).Format(time.RFC3339Nano)
	stream := stamp + " one\n" + stamp + " two\n" + stamp + " three\n"
	for range 2 {
		if err := f.copy(strings.NewReader(stream)); err != nil {
			t.Fatal(err)
		}
	}
	lines := appLogLines(t, path)
	if len(lines) != 3 || !strings.HasSuffix(lines[0], ": one") || !strings.HasSuffix(lines[2], ": three") {
		t.Errorf("app log %q, want one, two, three once", lines)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

// The end of an app's log says when each instance wrote last, and when
// the log was last written, of the lines written before this slipway
// started; the router's and slipway's own lines count for the latter.
func TestReadAppLogTail(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	older := "2026-12-08T09:00:00.000Z web.x7k2p v3: in app.log.1\n"
	if err := os.WriteFile(path+".1", []byte(older), 0o644); err != nil {
		t.Fatal(err)
	}
	log := "2026-12-08T10:00:01.000Z web.x7k2p v3: one\n" +
		"2026-12-08T10:00:02.500Z worker.ab12c v3: two\n" +
		"2026-12-08T10:00:02.000Z web.x7k2p v3: three: with a colon\n" +
		"2026-12-08T10:00:03.000Z router: method=GET path=/ status=200\n" +
		"2026-12-08T11:00:00.000Z web.x7k2p v3: after this slipway started\n" +
		"2026-12-08T10:00:04.000Z web.x7k2p v3: not ended"
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	started := time.Date(2026, 12, 8, 10, 30, 0, 0, time.UTC)
	tail := readAppLogTail(path, 1<<20, started)
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v }
	if got := tail.last["web.x7k2p v3"]; !got.Equal(at("2026-12-08T10:00:02Z")) {
		t.Errorf("web.x7k2p's last line %s", got)
	}
	if got := tail.last["worker.ab12c v3"]; !got.Equal(at("2026-12-08T10:00:02.5Z")) {
		t.Errorf("worker.ab12c's last line %s", got)
	}
	if got := tail.newest; !got.Equal(at("2026-12-08T10:00:03Z")) {
		t.Errorf("newest %s", got)
	}
	if _, ok := tail.last["router:"]; ok || len(tail.last) != 2 {
		t.Errorf("instances %v", tail.last)
	}
	// A short window starts at a line: the first, cut, is not read.
	short := readAppLogTail(path, int64(len(log)-strings.Index(log, "two")), started)
	if _, ok := short.last["worker.ab12c v3"]; ok || short.last["web.x7k2p v3"].IsZero() {
		t.Errorf("a short window read %v", short.last)
	}
	// Only app.log.1 when app.log is gone.
	os.Remove(path)
	if got := readAppLogTail(path, 1<<20, started).last["web.x7k2p v3"]; !got.Equal(at("2026-12-08T09:00:00Z")) {
		t.Errorf("from app.log.1: %s", got)
	}
}

// fakeLogs is an API server's pod logs: each stream sends a line, then
// holds until the client goes; a pod in fail gets 500s; the previous
// run's log is a line.
type fakeLogs struct {
	srv    *httptest.Server
	open   atomic.Int32
	mu     sync.Mutex
	asked  map[string][]time.Time
	failOn map[string]bool
}

func startFakeLogs(t *testing.T, fail ...string) *fakeLogs {
	fl := &fakeLogs{asked: map[string][]time.Time{}, failOn: map[string]bool{}}
	for _, p := range fail {
		fl.failOn[p] = true
	}
	fl.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// /api/v1/namespaces/slipway/pods/NAME/log
		parts := strings.Split(r.URL.Path, "/")
		name := parts[len(parts)-2]
		fl.mu.Lock()
		fl.asked[name] = append(fl.asked[name], time.Now())
		fail := fl.failOn[name]
		fl.mu.Unlock()
		if fail {
			http.Error(w, `{"kind":"Status","code":500,"message":"no"}`, http.StatusInternalServerError)
			return
		}
		if r.URL.Query().Get("previous") == "true" {
			fmt.Fprintf(w, "%s the previous run of %s\n", time.Now().UTC().Format(time.RFC3339Nano), name)
			return
		}
		fl.open.Add(1)
		defer fl.open.Add(-1)
		fmt.Fprintf(w, "%s hello from %s\n", time.Now().UTC().Format(time.RFC3339Nano), name)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(fl.srv.Close)
	return fl
}

func (fl *fakeLogs) times(pod string) []time.Time {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	return append([]time.Time(nil), fl.asked[pod]...)
}

// runningPod is pod name of app, its container running.
func runningPod(app, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name), Labels: map[string]string{
			LabelManagedBy: ManagedBy, LabelApp: app, LabelRelease: "v1", LabelProcess: "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "web",
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}},
	}
}

// testPodLogs is a podLogs of the pods given, every app running, their
// logs under dir, through the API server at url.
func testPodLogs(t *testing.T, url, dir string, pods ...*corev1.Pod) (*podLogs, *supervisor.AppLogs) {
	t.Helper()
	c, err := NewClient(ClientConfig{Server: url})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*corev1.Pod{}
	for _, p := range pods {
		byName[p.Name] = p
	}
	logs := supervisor.NewAppLogs(slipway.Layout{Root: dir}, nil)
	l := newPodLogs(c.CoreV1().Pods(testNS), slog.New(slog.DiscardHandler))
	l.pod = func(name string) *corev1.Pod { return byName[name] }
	l.pods = func() []*corev1.Pod { return pods }
	l.runs = func(string) bool { return true }
	l.appLog = logs.For
	l.path = slipway.Layout{Root: dir}.AppLog
	return l, logs
}

// Pods are followed up to the bounds, an app's and all apps'; the app
// log of a pod left out says so once; every follower ends with run's
// context, streams closed.
func TestPodLogs_BoundedAndEndWithTheContext(t *testing.T) {
	fl := startFakeLogs(t)
	dir := t.TempDir()
	pods := []*corev1.Pod{runningPod("a", "a-v1-1-aaaa1"), runningPod("a", "a-v1-1-aaaa2"), runningPod("a", "a-v1-1-aaaa3"),
		runningPod("b", "b-v1-1-bbbb1"), runningPod("b", "b-v1-1-bbbb2")}
	l, logs := testPodLogs(t, fl.srv.URL, dir, pods...)
	l.perApp, l.total = 2, 3
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.run(ctx) }()
	testutil.WaitFor(t, "3 streams open", func() bool { return fl.open.Load() == 3 })
	l.poke() // a resync more changes nothing
	testutil.WaitFor(t, "2 pods noted as not followed", func() bool {
		n := 0
		for _, app := range []string{"a", "b"} {
			for _, line := range appLogLines(t, slipway.Layout{Root: dir}.AppLog(app)) {
				if strings.Contains(line, "output is not in this log") {
					n++
				}
			}
		}
		return n == 2
	})
	l.mu.Lock()
	perA, running := l.perAppN["a"], l.running
	l.mu.Unlock()
	if perA != 2 || running != 3 || fl.open.Load() != 3 {
		t.Errorf("followed: %d of a, %d in all, %d streams; want 2, 3, 3", perA, running, fl.open.Load())
	}
	cancel()
	select {
	case <-done:
	case <-time.After(testutil.Timeout):
		t.Fatal("run did not return after its context ended")
	}
	testutil.WaitFor(t, "the streams to close", func() bool { return fl.open.Load() == 0 })
	logs.Forget("a")
	logs.Forget("b")
}

// A stream that fails is asked for again after 1 s, then 2 s: never in a
// loop.
func TestPodLogs_RetriesWithBackoff(t *testing.T) {
	fl := startFakeLogs(t, "a-v1-1-aaaa1")
	l, logs := testPodLogs(t, fl.srv.URL, t.TempDir(), runningPod("a", "a-v1-1-aaaa1"))
	defer logs.Forget("a")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.run(ctx) }()
	defer func() { cancel(); <-done }()
	testutil.WaitFor(t, "3 tries", func() bool { return len(fl.times("a-v1-1-aaaa1")) >= 3 })
	at := fl.times("a-v1-1-aaaa1")
	if d := at[1].Sub(at[0]); d < podLogBackoffMin {
		t.Errorf("second try %s after the first, want %s at least", d, podLogBackoffMin)
	}
	if d := at[2].Sub(at[1]); d < 2*podLogBackoffMin {
		t.Errorf("third try %s after the second, want %s at least", d, 2*podLogBackoffMin)
	}
}

// A container that ran before (restarted while no follower ran, as
// while slipway restarts) has its previous run's lines written first,
// then its current run's.
func TestPodLogs_TakesThePreviousRunFirst(t *testing.T) {
	fl := startFakeLogs(t)
	dir := t.TempDir()
	p := runningPod("a", "a-v1-1-aaaa1")
	l, logs := testPodLogs(t, fl.srv.URL, dir, p)
	p.Status.ContainerStatuses[0].RestartCount = 1 // it ended after this slipway started
	p.Status.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{FinishedAt: metav1.Now()}
	defer logs.Forget("a")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.run(ctx) }()
	defer func() { cancel(); <-done }()
	path := slipway.Layout{Root: dir}.AppLog("a")
	testutil.WaitFor(t, "the current run's line", func() bool { return len(appLogLines(t, path)) == 2 })
	lines := appLogLines(t, path)
	if !strings.HasSuffix(lines[0], " web.aaaa1 v1: the previous run of a-v1-1-aaaa1") || !strings.HasSuffix(lines[1], " web.aaaa1 v1: hello from a-v1-1-aaaa1") {
		t.Errorf("app log %q", lines)
	}
}

// BenchmarkFollower_Copy is the cost of a pod's line on its way into
// the app log: read from the stream, its stamp parsed, written.
func BenchmarkFollower_Copy(b *testing.B) {
	path := filepath.Join(b.TempDir(), "app.log")
	log := supervisor.NewAppLog(path)
	defer log.Close()
	var stream strings.Builder
	t0 := time.Now()
	for i := range 10000 {
		fmt.Fprintf(&stream, "%s GET /items/%d 200 in 3ms\n", t0.Add(time.Duration(i)*time.Microsecond).UTC().Format(time.RFC3339Nano), i)
	}
	data := stream.String()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		f := &follower{in: podInstanceName{id: "web.x7k2p", release: "v3"}, log: log}
		if err := f.copy(strings.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		os.Truncate(path, 0)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10000), "ns/line")
}
