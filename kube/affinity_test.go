package kube

import (
	"bytes"
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway/slipway/internal/testutil"
)

// A replica waits for the control plane's key; a second key never
// replaces the first; a Secret of that name not slipway's is not used
// and never changed.
func TestAffinityKey_WaitsForTheControlPlanesAndKeepsIt(t *testing.T) {
	cs := cluster(t)
	ctx := context.Background()
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := AffinityKey(short, cs.lean, testNS); err == nil {
		t.Fatal("AffinityKey returned a key before there was one")
	}

	got := make(chan []byte, 1)
	wctx, cancel := context.WithTimeout(ctx, testutil.Timeout)
	defer cancel()
	go func() {
		key, err := AffinityKey(wctx, cs.lean, testNS)
		if err != nil {
			t.Error(err)
		}
		got <- key
	}()
	first := bytes.Repeat([]byte{1}, 32)
	if err := EnsureAffinityKey(ctx, cs.lean, testNS, first); err != nil {
		t.Fatal(err)
	}
	if key := <-got; !bytes.Equal(key, first) {
		t.Fatalf("the waiting replica read %x, want %x", key, first)
	}
	if err := EnsureAffinityKey(ctx, cs.lean, testNS, bytes.Repeat([]byte{2}, 32)); err != nil {
		t.Fatal(err)
	}
	if key, err := AffinityKey(ctx, cs.lean, testNS); err != nil || !bytes.Equal(key, first) {
		t.Fatalf("after a second EnsureAffinityKey: %x, %v; want the first key kept", key, err)
	}
	if err := EnsureAffinityKey(ctx, cs.lean, testNS, []byte("short")); err == nil {
		t.Fatal("EnsureAffinityKey took a 5-byte key")
	}

	secrets := cs.CoreV1().Secrets(testNS)
	if err := secrets.Delete(ctx, RouterSecret, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: RouterSecret}, Data: map[string][]byte{KeyAffinityKey: bytes.Repeat([]byte{3}, 32)}}
	if _, err := secrets.Create(ctx, theirs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := EnsureAffinityKey(ctx, cs.lean, testNS, first); err == nil {
		t.Fatal("EnsureAffinityKey accepted a Secret that is not slipway's")
	}
	if key, err := AffinityKey(ctx, cs.lean, testNS); err == nil {
		t.Fatalf("AffinityKey read %x from a Secret that is not slipway's", key)
	} else {
		t.Log(err)
	}
	s, err := secrets.Get(ctx, RouterSecret, metav1.GetOptions{})
	if err != nil || !bytes.Equal(s.Data[KeyAffinityKey], theirs.Data[KeyAffinityKey]) || len(s.Labels) != 0 {
		t.Fatalf("the Secret that is not slipway's was changed: %v %v", s, err)
	}
}
