package router

import "testing"

func TestNewTransport_Tuned(t *testing.T) {
	tr := NewTransport()
	if tr.Proxy != nil {
		t.Error("Proxy is set: requests to local instances must not go through an environment proxy")
	}
	if tr.DialContext == nil {
		t.Error("DialContext is nil: dialing has no timeout")
	}
	if got, want := tr.MaxIdleConnsPerHost, DefaultMaxIdleConnsPerHost; got != want {
		t.Errorf("MaxIdleConnsPerHost = %d, want %d", got, want)
	}
	if got, want := tr.IdleConnTimeout, DefaultIdleConnTimeout; got != want {
		t.Errorf("IdleConnTimeout = %v, want %v", got, want)
	}
	if tr.ResponseHeaderTimeout != 0 {
		t.Errorf("ResponseHeaderTimeout = %v, want none: apps may long-poll", tr.ResponseHeaderTimeout)
	}
	if tr.ForceAttemptHTTP2 || !tr.DisableCompression {
		t.Errorf("ForceAttemptHTTP2 = %v, DisableCompression = %v; want false, true", tr.ForceAttemptHTTP2, tr.DisableCompression)
	}
}
