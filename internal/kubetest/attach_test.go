package kubetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/slipway/slipway/internal/testutil"
)

// stdinPod is a pod of one container running command as nobody, with
// stdin (stdinOnce) and, with tty, a terminal, that is not restarted.
func stdinPod(name, ref string, tty bool, command ...string) *corev1.Pod {
	p := webPod(name, ref, "")
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	ctr := &p.Spec.Containers[0]
	ctr.Command, ctr.ReadinessProbe = command, nil
	ctr.Stdin, ctr.StdinOnce, ctr.TTY = true, true, tty
	return p
}

// attach streams opts to and from container name of ns/pod through the
// API server's pods/attach, over a WebSocket (v5.channel.k8s.io, as
// slipway's client speaks it) or SPDY.
func attach(ctx context.Context, c *Cluster, ns, pod string, websocket bool, opts remotecommand.StreamOptions) error {
	u := c.Clientset.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("attach").
		VersionedParams(&corev1.PodAttachOptions{Container: "web", Stdin: opts.Stdin != nil, Stdout: opts.Stdout != nil,
			Stderr: opts.Stderr != nil, TTY: opts.Tty}, scheme.ParameterCodec).URL()
	var exec remotecommand.Executor
	var err error
	if websocket {
		exec, err = remotecommand.NewWebSocketExecutor(c.Config, "GET", u.String())
	} else {
		exec, err = remotecommand.NewSPDYExecutor(c.Config, "POST", u)
	}
	if err != nil {
		return err
	}
	return exec.StreamWithContext(ctx, opts)
}

// syncBuffer is a bytes.Buffer that an attach writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sizeQueue is the terminal sizes an attach sends, until it is closed.
type sizeQueue chan *remotecommand.TerminalSize

func (q sizeQueue) Next() *remotecommand.TerminalSize { return <-q }

// running reports whether the pod's container runs.
func running(p *corev1.Pod) bool {
	cs := p.Status.ContainerStatuses
	return len(cs) == 1 && cs[0].State.Running != nil
}

// terminated returns the exit code of the pod's container, -1 while it
// has not ended.
func terminated(p *corev1.Pod) int32 {
	cs := p.Status.ContainerStatuses
	if len(cs) != 1 || cs[0].State.Terminated == nil {
		return -1
	}
	return cs[0].State.Terminated.ExitCode
}

// sizeSeen matches the shell's answer to the size test's script.
var sizeSeen = regexp.MustCompile(`size=[0-9]+ [0-9]+\.`)

// A shell on a terminal, attached over a WebSocket: its terminal has the
// size the client sent, and it runs what the client types. The client
// goes without a word, and the shell runs on (stdinOnce closes no
// terminal's input); a second client, over SPDY, gets what the shell
// writes from then on, not before, and makes it exit: its exit code is
// the pod's, and its log holds all it wrote.
func testAttachTerminal(t *testing.T, c *Cluster, reg *testRegistry, ref string) {
	ctx := ctxT(t)
	c.Namespace(t, "attach-tty")
	reg.pullSecret(t, c, "attach-tty", "registry")
	if _, err := c.Clientset.CoreV1().Pods("attach-tty").Create(ctx, stdinPod("shell", ref, true, "/bin/sh"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, c, "attach-tty", "shell", "to run", running)

	first, leave := context.WithCancel(ctx)
	in, typed := io.Pipe()
	defer typed.Close()
	sizes := make(sizeQueue, 1)
	sizes <- &remotecommand.TerminalSize{Width: 123, Height: 45}
	defer close(sizes)
	var out, again syncBuffer
	defer func() {
		if t.Failed() {
			t.Logf("the first client saw %q, the second %q", out.String(), again.String())
		}
	}()
	done := make(chan error, 1)
	go func() {
		done <- attach(first, c, "attach-tty", "shell", true, remotecommand.StreamOptions{Stdin: in, Stdout: &out, Tty: true, TerminalSizeQueue: sizes})
	}()
	// The size reaches the shell's terminal through the API server, the
	// node's pty and runc, each in its own time: the shell waits for it.
	// (The terminal echoes what is typed: what the test looks for in its
	// output is not in its input.)
	io.WriteString(typed, `i=0; while test "$(busybox stty size)" != "45 123" && test $i -lt 100; do i=$((i+1)); sleep 0.1; done; echo "size=$(busybox stty size)."`+"\n")
	testutil.WaitFor(t, "the shell to see its size", func() bool { return sizeSeen.MatchString(out.String()) })
	if !strings.Contains(out.String(), "size=45 123.") {
		t.Errorf("the shell's terminal showed %q", out.String())
	}
	leave()
	<-done

	io.WriteString(typed, "echo gone\n") // to no one: the client went
	// The end of a client's stdin detaches it (as containerd): the second
	// one's lasts until the shell exits.
	in, typed = io.Pipe()
	defer typed.Close()
	go func() {
		done <- attach(ctx, c, "attach-tty", "shell", false, remotecommand.StreamOptions{Stdin: in, Stdout: &again, Tty: true})
	}()
	io.WriteString(typed, "echo hi-$((6*7)); exit 3\n")
	if err := <-done; err != nil || !strings.Contains(again.String(), "hi-42") || sizeSeen.MatchString(again.String()) {
		t.Errorf("the second attach: %v, %q", err, again.String())
	}
	p := waitPod(t, c, "attach-tty", "shell", "to end", func(p *corev1.Pod) bool { return terminated(p) >= 0 })
	if code := terminated(p); code != 3 || p.Status.Phase != corev1.PodFailed {
		t.Errorf("the pod is %s, its container's exit code %d; want Failed, 3", p.Status.Phase, code)
	}
	logs, err := c.Clientset.CoreV1().Pods("attach-tty").GetLogs("shell", &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil || !strings.Contains(string(logs), "size=45 123.") || !strings.Contains(string(logs), "hi-42") {
		t.Errorf("the shell's log: %q, %v", logs, err)
	}
}

// `cat` with stdinOnce, attached without a terminal: it echoes what the
// client sends and ends when the client's stdin does; what it wrote
// before is in its log, not in the attach.
func testAttachStdinOnce(t *testing.T, c *Cluster, reg *testRegistry, ref string) {
	ctx := ctxT(t)
	c.Namespace(t, "attach-cat")
	reg.pullSecret(t, c, "attach-cat", "registry")
	for _, tc := range []struct {
		name      string
		websocket bool
	}{{"ws", true}, {"spdy", false}} {
		pod := "cat-" + tc.name
		if _, err := c.Clientset.CoreV1().Pods("attach-cat").Create(ctx, stdinPod(pod, ref, false, "/bin/sh", "-c", "echo before; echo on-stderr >&2; exec cat"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitPod(t, c, "attach-cat", pod, "to run", running)
		logs := func() string {
			b, _ := c.Clientset.CoreV1().Pods("attach-cat").GetLogs(pod, &corev1.PodLogOptions{}).DoRaw(ctx)
			return string(b)
		}
		testutil.WaitFor(t, pod+" to write its first lines", func() bool { return strings.Contains(logs(), "on-stderr") })
		var stdout, stderr syncBuffer
		err := attach(ctx, c, "attach-cat", pod, tc.websocket, remotecommand.StreamOptions{Stdin: strings.NewReader("after\n"), Stdout: &stdout, Stderr: &stderr})
		if err != nil || stdout.String() != "after\n" || stderr.String() != "" {
			t.Errorf("%s: the attach: %v, stdout %q, stderr %q; want \"after\\n\" and nothing", pod, err, stdout.String(), stderr.String())
		}
		p := waitPod(t, c, "attach-cat", pod, "to end", func(p *corev1.Pod) bool { return terminated(p) >= 0 })
		if code := terminated(p); code != 0 || p.Status.Phase != corev1.PodSucceeded {
			t.Errorf("%s is %s, exit code %d", pod, p.Status.Phase, code)
		}
		// Its stdout and stderr are copied apart: in the log, the lines of
		// one may come before the other's written earlier, as with kubelet.
		if got := logs(); len(got) != len("before\non-stderr\nafter\n") || !strings.Contains(got, "before\n") ||
			!strings.Contains(got, "on-stderr\n") || !strings.HasSuffix(got, "after\n") {
			t.Errorf("%s's log: %q, want before, on-stderr and after", pod, got)
		}
	}
}

// An attach to a container without stdin, or one that ended, is
// answered an error at once.
func testAttachRefused(t *testing.T, c *Cluster, reg *testRegistry, ref string) {
	ctx := ctxT(t)
	c.Namespace(t, "attach-no")
	reg.pullSecret(t, c, "attach-no", "registry")
	web := webPod("web", ref, `echo up > /tmp/index.html; exec httpd -f -p 5000 -h /tmp`)
	ended := stdinPod("ended", ref, false, "/bin/sh", "-c", "exit 0")
	for _, p := range []*corev1.Pod{web, ended} {
		if _, err := c.Clientset.CoreV1().Pods("attach-no").Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitPod(t, c, "attach-no", "web", "to be Ready", ready)
	waitPod(t, c, "attach-no", "ended", "to end", func(p *corev1.Pod) bool { return terminated(p) >= 0 })
	for _, tc := range []struct{ pod, want string }{{"web", "neither stdin nor tty"}, {"ended", "not running"}} {
		for _, websocket := range []bool{true, false} {
			actx, cancel := context.WithTimeout(ctx, 20*time.Second)
			in, typed := io.Pipe()
			err := attach(actx, c, "attach-no", tc.pod, websocket, remotecommand.StreamOptions{Stdin: in, Stdout: io.Discard})
			typed.Close()
			cancel()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("attach to %s (websocket %v): %v; want an error saying %q", tc.pod, websocket, err, tc.want)
			}
		}
	}
}

// stuckWriter blocks every Write until it is closed.
type stuckWriter chan struct{}

func (w stuckWriter) Write(p []byte) (int, error) {
	<-w
	return len(p), nil
}

// A client that stops reading does not stall the container: it is
// detached once it is too far behind, and told so when it reads again.
func testAttachStuckClient(t *testing.T, c *Cluster, reg *testRegistry, ref string) {
	ctx := ctxT(t)
	c.Namespace(t, "attach-stuck")
	reg.pullSecret(t, c, "attach-stuck", "registry")
	// More than the buffers on the way to the client hold. (Not in the
	// log at the end: the supervisor empties a log file of 16 MiB.)
	const size = 64 << 20
	pod := stdinPod("flood", ref, false, "/bin/sh", "-c", fmt.Sprintf("read x; busybox yes 0123456789abcdef | busybox head -c %d", size))
	if _, err := c.Clientset.CoreV1().Pods("attach-stuck").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPod(t, c, "attach-stuck", "flood", "to run", running)
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	stuck := make(stuckWriter)
	in, typed := io.Pipe()
	defer typed.Close()
	done := make(chan error, 1)
	go func() {
		done <- attach(actx, c, "attach-stuck", "flood", true, remotecommand.StreamOptions{Stdin: in, Stdout: stuck})
	}()
	io.WriteString(typed, "go\n")
	p := waitPod(t, c, "attach-stuck", "flood", "to end while its client is stuck", func(p *corev1.Pod) bool { return terminated(p) >= 0 })
	close(stuck)
	if err := <-done; err == nil || !strings.Contains(err.Error(), "behind") {
		t.Errorf("the stuck client's attach: %v; want it detached", err)
	}
	if p.Status.Phase != corev1.PodSucceeded {
		t.Errorf("the pod is %s", p.Status.Phase)
	}
}
