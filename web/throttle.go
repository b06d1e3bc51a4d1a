package web

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Failed sign-ins are slowed per client address: after freeAttempts
// failures, each further one locks the address out for a delay that
// doubles from a second up to maxLockout. A right token ends it.
const (
	freeAttempts = 5
	maxLockout   = 15 * time.Minute
	maxTracked   = 10000 // addresses remembered at most; the oldest go first
)

// errThrottled refuses a sign-in from an address with too many failures.
type errThrottled struct{ retry time.Duration }

func (e errThrottled) Error() string {
	return "too many wrong tokens from this address: try again in " + e.retry.Round(time.Second).String()
}

// throttle counts failed sign-ins by client address.
type throttle struct {
	mu    sync.Mutex
	addrs map[string]*failures
}

type failures struct {
	n     int
	until time.Time // locked out until then
	last  time.Time
}

// clientAddr is the address a request came from, without the port.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// check returns errThrottled when addr is locked out at now.
func (t *throttle) check(addr string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f := t.addrs[addr]; f != nil && now.Before(f.until) {
		return errThrottled{retry: f.until.Sub(now)}
	}
	return nil
}

// fail counts a wrong token from addr and returns how many in a row.
func (t *throttle) fail(addr string, now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.addrs == nil {
		t.addrs = map[string]*failures{}
	}
	f := t.addrs[addr]
	if f == nil {
		if len(t.addrs) >= maxTracked {
			t.forgetOldest()
		}
		f = &failures{}
		t.addrs[addr] = f
	}
	if now.Sub(f.last) > maxLockout { // a fresh start after a long quiet
		f.n = 0
	}
	f.n++
	f.last = now
	if f.n > freeAttempts {
		f.until = now.Add(min(time.Second<<min(f.n-freeAttempts-1, 20), maxLockout))
	}
	return f.n
}

// succeed forgets addr's failures.
func (t *throttle) succeed(addr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.addrs, addr)
}

func (t *throttle) forgetOldest() {
	var oldest string
	var at time.Time
	for a, f := range t.addrs {
		if oldest == "" || f.last.Before(at) {
			oldest, at = a, f.last
		}
	}
	delete(t.addrs, oldest)
}

// retryAfter sets Retry-After for a throttled answer and reports whether
// err is one.
func retryAfter(w http.ResponseWriter, err error) bool {
	var th errThrottled
	if !errors.As(err, &th) {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(th.retry.Seconds())+1))
	return true
}
