package kubetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
)

// Timeouts of an attach's streams: kubelet's defaults
// (--streaming-connection-idle-timeout, and its streaming server's).
const (
	attachIdleTimeout     = 4 * time.Hour
	attachCreationTimeout = remotecommand.DefaultStreamCreationTimeout
)

// serveAttach is kubelet's /attach/NS/POD/CONTAINER, which the API server
// proxies `.../pods/NAME/attach` to (translating a client's WebSocket to
// SPDY: the node declares no ExtendWebSocketsToKubelet), with the query
// the API server makes of the request's (input=1&output=1&error=1&tty=1).
// kubelet's own streaming server (ServeAttach) upgrades the connection
// and speaks the protocol; the container's streams are its stdio's
// (stdio.go). As with kubelet, the terminal is the container spec's tty,
// whatever the request asks.
func (n *Node) serveAttach(w http.ResponseWriter, r *http.Request) {
	ns, pod, name := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c := n.container(ns, pod, name)
	if c == nil {
		http.Error(w, fmt.Sprintf("container %s of pod %s/%s is not on this node", name, ns, pod), http.StatusNotFound)
		return
	}
	// Stricter than kubelet, which attaches the output of any container:
	// one without stdin or tty has none but its log here.
	if !c.spec.Stdin && !c.spec.TTY {
		http.Error(w, fmt.Sprintf("container %s of pod %s/%s has neither stdin nor tty: kubetest's node attaches to no other (its output is in its log)", name, ns, pod), http.StatusBadRequest)
		return
	}
	st := c.stdio()
	if st == nil {
		http.Error(w, fmt.Sprintf("container %s of pod %s/%s is not running", name, ns, pod), http.StatusInternalServerError)
		return
	}
	opts.TTY = c.spec.TTY
	if opts.TTY {
		opts.Stderr = false
	}
	remotecommand.ServeAttach(w, r, attacher{st}, pod, string(c.p.uid), name, opts,
		attachIdleTimeout, attachCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// attacher is a container's streams as ServeAttach attaches to them.
type attacher struct{ st *stdio }

var _ remotecommand.Attacher = attacher{}

func (a attacher) AttachContainer(_ context.Context, _, _, _ string, in io.Reader, out, errw io.WriteCloser,
	_ bool, resize <-chan remotecommand.TerminalSize) error {
	return a.st.attach(in, out, errw, resize)
}
