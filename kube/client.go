package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// Client talks to a cluster's API server: JSON over HTTPS for exactly the
// resources slipway uses, with the method shapes of client-go's typed
// clients. client-go's clientset registers every API group and doubled
// slipway's binary; this is what is left when only these are kept.
type Client struct {
	server string // https://HOST:PORT, no trailing slash
	http   *http.Client
	token  *tokenSource
	agent  string
}

// CoreV1 is the core group's resources.
func (c *Client) CoreV1() CoreV1 { return CoreV1{c} }

// AppsV1 is the apps group's resources.
func (c *Client) AppsV1() AppsV1 { return AppsV1{c} }

// BatchV1 is the batch group's resources.
func (c *Client) BatchV1() BatchV1 { return BatchV1{c} }

// CoordinationV1 is the coordination.k8s.io group's resources.
func (c *Client) CoordinationV1() CoordinationV1 { return CoordinationV1{c} }

// CoreV1 is the core group's resources.
type CoreV1 struct{ c *Client }

// Pods are a namespace's pods, with their logs.
func (g CoreV1) Pods(ns string) Pods {
	return Pods{newResource[corev1.Pod, corev1.PodList](g.c, "/api/v1", ns, "pods")}
}

// Secrets are a namespace's Secrets.
func (g CoreV1) Secrets(ns string) Resource[corev1.Secret, corev1.SecretList] {
	return newResource[corev1.Secret, corev1.SecretList](g.c, "/api/v1", ns, "secrets")
}

// ConfigMaps are a namespace's ConfigMaps.
func (g CoreV1) ConfigMaps(ns string) Resource[corev1.ConfigMap, corev1.ConfigMapList] {
	return newResource[corev1.ConfigMap, corev1.ConfigMapList](g.c, "/api/v1", ns, "configmaps")
}

// Events are a namespace's events.
func (g CoreV1) Events(ns string) Resource[corev1.Event, corev1.EventList] {
	return newResource[corev1.Event, corev1.EventList](g.c, "/api/v1", ns, "events")
}

// AppsV1 is the apps group's resources.
type AppsV1 struct{ c *Client }

// Deployments are a namespace's Deployments.
func (g AppsV1) Deployments(ns string) Resource[appsv1.Deployment, appsv1.DeploymentList] {
	return newResource[appsv1.Deployment, appsv1.DeploymentList](g.c, "/apis/apps/v1", ns, "deployments")
}

// BatchV1 is the batch group's resources.
type BatchV1 struct{ c *Client }

// Jobs are a namespace's Jobs.
func (g BatchV1) Jobs(ns string) Resource[batchv1.Job, batchv1.JobList] {
	return newResource[batchv1.Job, batchv1.JobList](g.c, "/apis/batch/v1", ns, "jobs")
}

// CronJobs are a namespace's CronJobs.
func (g BatchV1) CronJobs(ns string) Resource[batchv1.CronJob, batchv1.CronJobList] {
	return newResource[batchv1.CronJob, batchv1.CronJobList](g.c, "/apis/batch/v1", ns, "cronjobs")
}

// CoordinationV1 is the coordination.k8s.io group's resources.
type CoordinationV1 struct{ c *Client }

// Leases are a namespace's Leases.
func (g CoordinationV1) Leases(ns string) Resource[coordv1.Lease, coordv1.LeaseList] {
	return newResource[coordv1.Lease, coordv1.LeaseList](g.c, "/apis/coordination.k8s.io/v1", ns, "leases")
}

// Resource is one kind of object in one namespace: T the object, L its
// list.
type Resource[T, L any] struct {
	c    *Client
	path string // /api/v1/namespaces/NS/pods
	gr   schema.GroupResource
}

func newResource[T, L any](c *Client, prefix, ns, plural string) Resource[T, L] {
	group, _ := strings.CutPrefix(prefix, "/apis/")
	group, _, _ = strings.Cut(group, "/")
	if prefix == "/api/v1" {
		group = ""
	}
	return Resource[T, L]{c: c, path: prefix + "/namespaces/" + url.PathEscape(ns) + "/" + plural,
		gr: schema.GroupResource{Group: group, Resource: plural}}
}

// Get returns the object name.
func (r Resource[T, L]) Get(ctx context.Context, name string, _ metav1.GetOptions) (*T, error) {
	out := new(T)
	return out, r.c.do(ctx, http.MethodGet, r.path+"/"+url.PathEscape(name), nil, "", nil, r.gr, name, out)
}

// List returns the objects opts selects.
func (r Resource[T, L]) List(ctx context.Context, opts metav1.ListOptions) (*L, error) {
	out := new(L)
	return out, r.c.do(ctx, http.MethodGet, r.path, listQuery(opts), "", nil, r.gr, "", out)
}

// Create creates obj and returns it as the API server made it.
func (r Resource[T, L]) Create(ctx context.Context, obj *T, _ metav1.CreateOptions) (*T, error) {
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	out := new(T)
	return out, r.c.do(ctx, http.MethodPost, r.path, nil, "application/json", body, r.gr, nameOf(obj), out)
}

// Update replaces obj (of its resourceVersion: a Conflict if it changed).
func (r Resource[T, L]) Update(ctx context.Context, obj *T, _ metav1.UpdateOptions) (*T, error) {
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	out := new(T)
	name := nameOf(obj)
	return out, r.c.do(ctx, http.MethodPut, r.path+"/"+url.PathEscape(name), nil, "application/json", body, r.gr, name, out)
}

// Patch applies data, a patch of type pt, to the object name.
func (r Resource[T, L]) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, _ metav1.PatchOptions) (*T, error) {
	out := new(T)
	return out, r.c.do(ctx, http.MethodPatch, r.path+"/"+url.PathEscape(name), nil, string(pt), data, r.gr, name, out)
}

// Delete deletes the object name.
func (r Resource[T, L]) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	body, err := json.Marshal(opts)
	if err != nil {
		return err
	}
	return r.c.do(ctx, http.MethodDelete, r.path+"/"+url.PathEscape(name), nil, "application/json", body, r.gr, name, nil)
}

// DeleteCollection deletes the objects list selects.
func (r Resource[T, L]) DeleteCollection(ctx context.Context, opts metav1.DeleteOptions, list metav1.ListOptions) error {
	body, err := json.Marshal(opts)
	if err != nil {
		return err
	}
	return r.c.do(ctx, http.MethodDelete, r.path, listQuery(list), "application/json", body, r.gr, "", nil)
}

// Watch streams the changes to the objects opts selects, from
// opts.ResourceVersion, until ctx ends, the Interface is stopped or the
// API server ends the stream (timeoutSeconds).
func (r Resource[T, L]) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	ctx, cancel := context.WithCancel(ctx)
	resp, err := r.c.send(ctx, http.MethodGet, r.path, listQuery(opts), "", nil, r.gr, "")
	if err != nil {
		cancel()
		return nil, err
	}
	w := &streamWatch{ctx: ctx, ch: make(chan watch.Event), stop: cancel, done: make(chan struct{})}
	go w.run(resp.Body, func() runtime.Object { return any(new(T)).(runtime.Object) })
	return w, nil
}

// Pods are a namespace's pods, with their logs.
type Pods struct {
	Resource[corev1.Pod, corev1.PodList]
}

// Logs returns the log of pod name's container: opts.TailLines,
// LimitBytes, Follow, Previous, Timestamps, SinceTime and SinceSeconds as
// `kubectl logs` has them. The caller closes it.
func (p Pods) Logs(ctx context.Context, name string, opts corev1.PodLogOptions) (io.ReadCloser, error) {
	q := url.Values{}
	if opts.Container != "" {
		q.Set("container", opts.Container)
	}
	if opts.Follow {
		q.Set("follow", "true")
	}
	if opts.Previous {
		q.Set("previous", "true")
	}
	if opts.Timestamps {
		q.Set("timestamps", "true")
	}
	if opts.SinceTime != nil {
		// The API takes seconds: a caller that wants less drops the
		// lines before its own time (the stamps are the kubelet's, ns).
		q.Set("sinceTime", opts.SinceTime.UTC().Format(time.RFC3339))
	}
	if opts.SinceSeconds != nil {
		q.Set("sinceSeconds", strconv.FormatInt(*opts.SinceSeconds, 10))
	}
	if opts.TailLines != nil {
		q.Set("tailLines", strconv.FormatInt(*opts.TailLines, 10))
	}
	if opts.LimitBytes != nil {
		q.Set("limitBytes", strconv.FormatInt(*opts.LimitBytes, 10))
	}
	resp, err := p.c.send(ctx, http.MethodGet, p.path+"/"+url.PathEscape(name)+"/log", q, "", nil, p.gr, name)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// nameOf returns obj's name: every T here is an object with metadata.
func nameOf(obj any) string {
	if o, ok := obj.(metav1.Object); ok {
		return o.GetName()
	}
	return ""
}

func listQuery(o metav1.ListOptions) url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("labelSelector", o.LabelSelector)
	set("fieldSelector", o.FieldSelector)
	set("resourceVersion", o.ResourceVersion)
	set("resourceVersionMatch", string(o.ResourceVersionMatch))
	set("continue", o.Continue)
	if o.Limit > 0 {
		q.Set("limit", strconv.FormatInt(o.Limit, 10))
	}
	if o.Watch {
		q.Set("watch", "1")
	}
	if o.AllowWatchBookmarks {
		q.Set("allowWatchBookmarks", "true")
	}
	if o.TimeoutSeconds != nil {
		q.Set("timeoutSeconds", strconv.FormatInt(*o.TimeoutSeconds, 10))
	}
	return q
}

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 1 << 20

// do sends a request and decodes a 2xx answer's JSON into out (if not nil).
func (c *Client) do(ctx context.Context, method, path string, q url.Values, ctype string, body []byte, gr schema.GroupResource, name string, out any) error {
	resp, err := c.send(ctx, method, path, q, ctype, body, gr, name)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	return nil
}

// send sends a request and returns a 2xx answer, whose body the caller
// closes; any other is an error apierrors understands (IsNotFound, ...).
func (c *Client) send(ctx context.Context, method, path string, q url.Values, ctype string, body []byte, gr schema.GroupResource, name string) (*http.Response, error) {
	req, err := c.request(ctx, method, path, q, ctype, body)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the API server %s: %w", c.server, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return nil, statusError(resp.StatusCode, method, gr, name, b)
}

// request makes a request to the API server, with slipway's credentials.
func (c *Client) request(ctx context.Context, method, path string, q url.Values, ctype string, body []byte) (*http.Request, error) {
	u := c.server + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.agent != "" {
		req.Header.Set("User-Agent", c.agent)
	}
	if c.token != nil {
		tok, err := c.token.get()
		if err != nil {
			return nil, err
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	return req, nil
}

// statusError makes an error answer a *apierrors.StatusError: the
// API server's own Status when it sent one.
func statusError(code int, method string, gr schema.GroupResource, name string, body []byte) error {
	var st metav1.Status
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" {
		if st.Code == 0 {
			st.Code = int32(code)
		}
		return &apierrors.StatusError{ErrStatus: st}
	}
	verb := strings.ToLower(method)
	return apierrors.NewGenericServerResponse(code, verb, gr, name, strings.TrimSpace(string(body)), 0, true)
}

// streamWatch is a watch's answer, decoded event by event.
type streamWatch struct {
	ctx  context.Context
	ch   chan watch.Event
	stop context.CancelFunc
	done chan struct{}
}

func (w *streamWatch) Stop()                          { w.stop(); <-w.done }
func (w *streamWatch) ResultChan() <-chan watch.Event { return w.ch }

func (w *streamWatch) run(body io.ReadCloser, newObj func() runtime.Object) {
	defer close(w.done)
	defer close(w.ch)
	defer body.Close()
	dec := json.NewDecoder(body)
	for {
		var ev struct {
			Type   watch.EventType `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		if err := dec.Decode(&ev); err != nil {
			return // the stream ended: the caller watches again
		}
		var obj runtime.Object
		if ev.Type == watch.Error {
			obj = &metav1.Status{}
		} else {
			obj = newObj()
		}
		if err := json.Unmarshal(ev.Object, obj); err != nil {
			obj = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError,
				Message: "decode a watch event: " + err.Error()}
			ev.Type = watch.Error
		}
		select {
		case w.ch <- watch.Event{Type: ev.Type, Object: obj}:
		case <-w.ctx.Done():
			return
		}
	}
}

// retryOnConflict runs fn until it returns anything but a Conflict, at
// most 5 times, 10 ms apart: an update lost to a concurrent one is done
// again on the object's latest version.
func retryOnConflict(fn func() error) error {
	var err error
	for i := range 5 {
		if i > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		if err = fn(); !apierrors.IsConflict(err) {
			return err
		}
	}
	return err
}
