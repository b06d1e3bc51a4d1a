package kubetest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// prober runs one probe at its period and counts its results against
// its thresholds.
type prober struct {
	pr                  *corev1.Probe
	timer               *time.Timer
	successes, failures int32
}

func newProber(pr *corev1.Probe) *prober {
	p := &prober{pr: pr}
	if pr != nil {
		p.timer = time.NewTimer(time.Duration(pr.InitialDelaySeconds) * time.Second)
	}
	return p
}

// c fires when the probe is due; never without a probe.
func (p *prober) c() <-chan time.Time {
	if p.timer == nil {
		return nil
	}
	return p.timer.C
}

func (p *prober) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}

// run probes once and reports the probe's verdict when a threshold was
// just reached (changed).
func (p *prober) run(c *container, obj *corev1.Pod, kind string) (ok, changed bool) {
	defer p.timer.Reset(time.Duration(max(p.pr.PeriodSeconds, 1)) * time.Second)
	if err := c.probe(p.pr); err != nil {
		p.successes, p.failures = 0, p.failures+1
		c.p.n.record.Eventf(obj, corev1.EventTypeWarning, "Unhealthy", "%s probe failed: %v", kind, err)
		return false, p.failures == max(p.pr.FailureThreshold, 1)
	}
	p.successes, p.failures = p.successes+1, 0
	return true, p.successes == max(p.pr.SuccessThreshold, 1)
}

// probe runs a probe against the pod's address: an HTTP GET
// (2xx and 3xx pass) or a TCP connect. Exec and gRPC probes are not run
// here: they fail, saying so.
func (c *container) probe(pr *corev1.Probe) error {
	c.p.mu.Lock()
	host := ""
	if c.p.net != nil {
		host = c.p.net.ip
	}
	c.p.mu.Unlock()
	timeout := time.Duration(max(pr.TimeoutSeconds, 1)) * time.Second
	switch {
	case pr.HTTPGet != nil:
		g := pr.HTTPGet
		port, err := c.port(g.Port)
		if err != nil {
			return err
		}
		if g.Host != "" {
			host = g.Host
		}
		scheme := "http"
		if g.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		path := g.Path
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(http.MethodGet, scheme+"://"+net.JoinHostPort(host, strconv.Itoa(port))+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "kube-probe/1.37")
		for _, h := range g.HTTPHeaders {
			req.Header.Set(h.Name, h.Value)
		}
		client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // kubelet does not verify probes either
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("HTTP probe failed with statuscode: %d", resp.StatusCode)
		}
		return nil
	case pr.TCPSocket != nil:
		port, err := c.port(pr.TCPSocket.Port)
		if err != nil {
			return err
		}
		if pr.TCPSocket.Host != "" {
			host = pr.TCPSocket.Host
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), timeout)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	return errors.New("kubetest's node runs only httpGet and tcpSocket probes")
}

// port resolves a probe's port, a number or the name of a containerPort.
func (c *container) port(p intstr.IntOrString) (int, error) {
	if p.Type == intstr.Int {
		return p.IntValue(), nil
	}
	for _, cp := range c.spec.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("no container port named %q", p.StrVal)
}
