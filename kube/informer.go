package kube

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
)

// informer keeps a cache of one resource's objects in a namespace, those
// of a label selector: it lists them, then watches from the list's
// resourceVersion, and tells onChange of every object added, changed or
// deleted. A watch the API server ends is started again where it left
// off; one too old for it (410 Gone) lists again, and the differences
// with the cache are told as changes.
type informer[T, L any] struct {
	res      Resource[T, L]
	selector string
	onChange func(*T) // added, changed or deleted (the last state known)
	log      *slog.Logger

	mu     sync.RWMutex
	objs   map[string]*T
	synced chan struct{} // closed after the first list
	once   sync.Once
}

// Watch timeouts, as client-go's reflector: 5 to 10 minutes, so that
// replicas do not all watch again at once.
const watchTimeout = 5 * time.Minute

// Backoff after a failed list or watch.
const (
	informerBackoffMin = 100 * time.Millisecond
	informerBackoffMax = 10 * time.Second
)

func newInformer[T, L any](res Resource[T, L], selector string, onChange func(*T), log *slog.Logger) *informer[T, L] {
	if onChange == nil {
		onChange = func(*T) {}
	}
	if log == nil {
		log = slog.Default()
	}
	return &informer[T, L]{res: res, selector: selector, onChange: onChange, log: log,
		objs: map[string]*T{}, synced: make(chan struct{})}
}

// HasSynced reports whether the first list is in the cache.
func (inf *informer[T, L]) HasSynced() bool {
	select {
	case <-inf.synced:
		return true
	default:
		return false
	}
}

// Synced is closed once the first list is in the cache.
func (inf *informer[T, L]) Synced() <-chan struct{} { return inf.synced }

// Get returns the cached object name, or nil.
func (inf *informer[T, L]) Get(name string) *T {
	inf.mu.RLock()
	defer inf.mu.RUnlock()
	return inf.objs[name]
}

// List returns the cached objects sel selects. They are shared: never
// change them.
func (inf *informer[T, L]) List(sel labels.Selector) []*T {
	inf.mu.RLock()
	defer inf.mu.RUnlock()
	var out []*T
	for _, o := range inf.objs {
		if sel.Matches(labels.Set(objMeta(o).GetLabels())) {
			out = append(out, o)
		}
	}
	return out
}

func objMeta(o any) metav1.Object { return o.(metav1.Object) }

// Run keeps the cache until ctx ends.
func (inf *informer[T, L]) Run(ctx context.Context) { inf.run(ctx, "") }

// run is Run, watching from rv if not empty (tests start from a stale one).
func (inf *informer[T, L]) run(ctx context.Context, rv string) {
	backoff := informerBackoffMin
	fail := func(what string, err error) {
		inf.log.Warn("watch the cluster", "what", what, "resource", inf.res.gr.String(), "err", err, "retry", backoff.String())
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, informerBackoffMax)
	}
	for ctx.Err() == nil {
		if rv == "" {
			var err error
			if rv, err = inf.relist(ctx); err != nil {
				if ctx.Err() == nil {
					fail("list", err)
				}
				continue
			}
			backoff = informerBackoffMin
		}
		began := time.Now()
		next, err := inf.watch(ctx, rv)
		rv = next
		switch {
		case ctx.Err() != nil:
		case gone(err):
			rv = "" // too old for the API server: list again
		case err != nil:
			fail("watch", err)
		case time.Since(began) < time.Second:
			// Ended at once: something between here and the API server
			// cuts watches; do not spin.
			fail("watch", errors.New("the watch ended at once"))
		default:
			backoff = informerBackoffMin
		}
	}
}

// gone reports whether err says a resourceVersion is too old (410).
func gone(err error) bool {
	var st apierrors.APIStatus
	return errors.As(err, &st) && st.Status().Code == http.StatusGone
}

// relist lists the objects, replaces the cache with them and tells of
// each difference; it returns the list's resourceVersion.
func (inf *informer[T, L]) relist(ctx context.Context) (string, error) {
	var list struct {
		Metadata metav1.ListMeta `json:"metadata"`
		Items    []T             `json:"items"`
	}
	err := inf.res.c.do(ctx, http.MethodGet, inf.res.path, listQuery(metav1.ListOptions{LabelSelector: inf.selector}), "", nil, inf.res.gr, "", &list)
	if err != nil {
		return "", err
	}
	fresh := make(map[string]*T, len(list.Items))
	for i := range list.Items {
		o := &list.Items[i]
		fresh[objMeta(o).GetName()] = o
	}
	inf.mu.Lock()
	old := inf.objs
	inf.objs = fresh
	inf.mu.Unlock()
	for name, o := range fresh {
		if was, ok := old[name]; !ok || objMeta(was).GetResourceVersion() != objMeta(o).GetResourceVersion() {
			inf.onChange(o)
		}
	}
	for name, was := range old {
		if _, ok := fresh[name]; !ok {
			inf.onChange(was)
		}
	}
	inf.once.Do(func() { close(inf.synced) })
	return list.Metadata.ResourceVersion, nil
}

// watch applies one watch's events to the cache, from rv, until it ends;
// it returns the last resourceVersion seen, and an error if the watch
// failed (IsResourceExpired or IsGone when rv is too old).
func (inf *informer[T, L]) watch(ctx context.Context, rv string) (string, error) {
	secs := int64(watchTimeout/time.Second) + rand.Int64N(int64(watchTimeout/time.Second))
	w, err := inf.res.Watch(ctx, metav1.ListOptions{LabelSelector: inf.selector, ResourceVersion: rv,
		AllowWatchBookmarks: true, TimeoutSeconds: &secs})
	if err != nil {
		return rv, err
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error {
			st, _ := ev.Object.(*metav1.Status)
			if st == nil {
				st = &metav1.Status{Message: "an unknown watch error"}
			}
			return rv, &apierrors.StatusError{ErrStatus: *st}
		}
		o, ok := any(ev.Object).(*T)
		if !ok {
			continue
		}
		m := objMeta(o)
		rv = m.GetResourceVersion()
		switch ev.Type {
		case watch.Added, watch.Modified:
			inf.mu.Lock()
			inf.objs[m.GetName()] = o
			inf.mu.Unlock()
			inf.onChange(o)
		case watch.Deleted:
			inf.mu.Lock()
			delete(inf.objs, m.GetName())
			inf.mu.Unlock()
			inf.onChange(o)
		}
	}
	return rv, nil
}

// waitSynced waits until every informer has its first list, or ctx ends
// (false).
func waitSynced(ctx context.Context, synced ...<-chan struct{}) bool {
	for _, s := range synced {
		select {
		case <-s:
		case <-ctx.Done():
			return false
		}
	}
	return true
}
