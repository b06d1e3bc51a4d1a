package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/images"
	"github.com/slipway/slipway/internal/kubetest"
	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/registry"
	"github.com/slipway/slipway/releaser"
	"github.com/slipway/slipway/supervisor"
)

// busyboxIn pushes busybox to a registry of the test's and gives the
// namespace the pull Secret PullSecret for it; it returns the image.
func busyboxIn(t *testing.T, cs *testCluster) string {
	t.Helper()
	reg, err := registry.New(context.Background(), registry.Config{Root: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
		Check: func(user, password string) registry.Access {
			if user == "node" && password == "pull-0123456789" {
				return registry.Push
			}
			return registry.NoAccess
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	srv := httptest.NewServer(reg.Handler())
	t.Cleanup(srv.Close)
	img, err := images.BusyboxImage()
	if err != nil {
		testutil.Missing(t, "%v", err)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/shop:v1"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := images.Push(ctx, img, ref, nil, &authn.Basic{Username: "node", Password: "pull-0123456789"}); err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"username": "node", "password": "pull-0123456789"}}})
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: PullSecret}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: cfg}}
	if _, err := cs.CoreV1().Secrets(testNS).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return ref
}

// appPod is pod name of app's release v1, of process type typ, running
// script as slipway's pods do (uid 10001), with an emptyDir at /data.
func appPod(app, name, typ, ref, script string, restart corev1.RestartPolicy) *corev1.Pod {
	uid := int64(runUser)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			LabelManagedBy: ManagedBy, LabelApp: app, LabelRelease: "v1", LabelProcess: typ}},
		Spec: corev1.PodSpec{
			RestartPolicy:                 restart,
			ImagePullSecrets:              []corev1.LocalObjectReference{{Name: PullSecret}},
			TerminationGracePeriodSeconds: ptr(int64(1)),
			SecurityContext:               &corev1.PodSecurityContext{RunAsUser: &uid, RunAsGroup: &uid},
			Volumes:                       []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			Containers: []corev1.Container{{Name: typ, Image: ref, Command: []string{"/bin/sh", "-c", script},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
		},
	}
}

// logLine is a line of an app log: STAMP ID RELEASE: TEXT.
var logLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ([a-z0-9.]+) (v\d+): (.*)$`)

// textsOf returns the texts of id's lines in the app log at path, and
// fails the test on a line of any other shape.
func textsOf(t *testing.T, path, id string) []string {
	t.Helper()
	var out []string
	for _, l := range appLogLines(t, path) {
		m := logLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("a line of another shape in %s: %q", path, l)
		}
		if m[1] == id && m[2] == "v1" {
			out = append(out, m[3])
		}
	}
	return out
}

// The output of an app's pods lands in its app log, named as on one host
// with its release: a worker's across the restarts of its container, a
// Job's run to its end; a follower stopped and started again (slipway
// restarted) writes no line twice and loses none printed meanwhile; a
// pod that floods, or prints binary, neither holds up another's lines
// nor puts a line of another shape in the log.
func TestPodLogs_FollowsPodsIntoTheAppLog(t *testing.T) {
	cs := cluster(t)
	node := kubetest.StartNode(t, cs.kt, kubetest.NodeConfig{})
	ref := busyboxIn(t, cs)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	layout := slipway.Layout{Root: dir}
	start := func() *Scheduler {
		// A new AppLogs each time, as a new slipway process has.
		s := New(Config{Client: cs.lean, Namespace: testNS}, releaser.Config{DataDir: dir,
			AppLogs: supervisor.NewAppLogs(layout, nil), Logger: slog.New(slog.DiscardHandler)})
		s.Start()
		for _, app := range []string{"shop", "flood"} { // live, as the restore makes them
			a := s.app(app)
			s.mu.Lock()
			a.live = 1
			s.mu.Unlock()
		}
		s.podLogs.poke()
		return s
	}
	s := start()
	stopped := false
	defer func() {
		if !stopped {
			s.Shutdown(context.Background())
		}
	}()

	// A worker that exits twice, then ticks every 100 ms; a Job's pod
	// (run:detached) that prints and ends; a pod of an app the
	// scheduler does not know.
	worker := appPod("shop", "shop-v1-worker-5c4b9-x7k2p", "worker", ref, `n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n
echo "run $n"
if [ $n -lt 3 ]; then exit 1; fi
i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.1; done`, corev1.RestartPolicyAlways)
	job := appPod("shop", "shop-v1-run-3-ab1cd", ProcessRun, ref, `echo "detached output"`, corev1.RestartPolicyNever)
	job.Labels["batch.kubernetes.io/job-name"] = "shop-v1-run-3"
	stranger := appPod("other", "other-v1-web-1-zzzzz", "web", ref, `echo "not followed"; exec sleep 600`, corev1.RestartPolicyAlways)
	for _, p := range []*corev1.Pod{worker, job, stranger} {
		if _, err := cs.CoreV1().Pods(testNS).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	shopLog := layout.AppLog("shop")
	ticks := func() int {
		n := 0
		for _, text := range textsOf(t, shopLog, "worker.x7k2p") {
			if k, ok := strings.CutPrefix(text, "tick "); ok {
				n, _ = strconv.Atoi(k)
			}
		}
		return n
	}
	testutil.WaitFor(t, "the worker's third run to tick in the app log", func() bool { return ticks() >= 5 })
	testutil.WaitFor(t, "the Job's output in the app log", func() bool {
		return strings.Join(textsOf(t, shopLog, "run.3"), "|") == "detached output"
	})

	// slipway restarts: the pod goes on printing meanwhile.
	s.Shutdown(context.Background())
	stopped = true
	last := ticks()
	testutil.WaitFor(t, "the worker to print 10 lines more while nothing follows", func() bool {
		return strings.Contains(node.Logs(testNS, worker.Name), fmt.Sprintf("tick %d\n", last+10))
	})
	if got := ticks(); got != last {
		t.Fatalf("ticks written after Shutdown: %d, then %d", last, got)
	}
	s = start()
	stopped = false
	testutil.WaitFor(t, "the ticks to come again", func() bool { return ticks() >= last+20 })

	// A flood and binary junk, while the worker ticks.
	began := time.Now()
	flood := appPod("flood", "flood-v1-web-1-ff00f", "web", ref, `yes "flooding the log" | head -n 100000; head -c 65536 /dev/urandom; echo; echo "flood done"; exec sleep 600`, corev1.RestartPolicyAlways)
	if _, err := cs.CoreV1().Pods(testNS).Create(ctx, flood, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	before := ticks()
	testutil.WaitFor(t, "the flood to be in its app log", func() bool {
		texts := textsOf(t, layout.AppLog("flood"), "web.ff00f")
		return len(texts) > 0 && texts[len(texts)-1] == "flood done"
	})
	t.Logf("100000 lines and 64 KiB of junk in the app log %s after the pod was made", time.Since(began).Round(time.Millisecond))
	testutil.WaitFor(t, "the worker's ticks to go on", func() bool { return ticks() >= before+5 })
	flooded := 0
	for _, text := range textsOf(t, layout.AppLog("flood"), "web.ff00f") {
		if text == "flooding the log" {
			flooded++
		}
	}
	if flooded != 100000 {
		t.Errorf("%d lines of the flood in its log, want 100000", flooded)
	}

	// Every line once, in order, none lost: the runs, then the ticks.
	n := ticks() // the ticks go on: the lines read next have these at least
	texts := textsOf(t, shopLog, "worker.x7k2p")
	want := []string{"run 1", "run 2", "run 3"}
	for i := 1; i <= n; i++ {
		want = append(want, "tick "+strconv.Itoa(i))
	}
	if got := strings.Join(texts[:min(len(texts), len(want))], "\n"); got != strings.Join(want, "\n") || len(texts) < len(want) {
		t.Errorf("the worker's lines:\n%s\nwant\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
	// logs -p worker shows them, and nothing else.
	var out strings.Builder
	if err := supervisor.Tail(ctx, shopLog, supervisor.LogOptions{Process: "worker", Lines: 3}, &out); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 3 || !strings.Contains(lines[0], " worker.x7k2p v1: tick ") {
		t.Errorf("logs -p worker:\n%s", out.String())
	}
	if lines := appLogLines(t, layout.AppLog("other")); len(lines) > 0 {
		t.Errorf("the log of an app the scheduler does not run: %q", lines)
	}

	// apps:destroy: the worker ticks on through its grace period, but
	// once the app is destroyed nothing writes its log again, though
	// destroy's last steps name the app (SetDomains).
	s.Forget("shop")
	// Its pods are bare here: the Deployments and Jobs Forget deletes
	// would have taken them.
	if err := cs.CoreV1().Pods(testNS).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: LabelApp + "=shop"}); err != nil {
		t.Fatal(err)
	}
	s.Destroyed("shop")
	s.SetDomains("shop", nil)
	if err := os.RemoveAll(layout.AppDir("shop")); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "shop's pods to go", func() bool {
		pods, err := cs.CoreV1().Pods(testNS).List(ctx, metav1.ListOptions{LabelSelector: LabelApp + "=shop"})
		return err == nil && len(pods.Items) == 0
	})
	if _, err := os.Stat(layout.AppDir("shop")); !os.IsNotExist(err) {
		t.Errorf("shop's directory made again after it was destroyed: %v", err)
	}
}
