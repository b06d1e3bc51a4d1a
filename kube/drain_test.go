package kube

import (
	"context"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway/slipway/internal/testutil"
	"github.com/slipway/slipway/releaser"
)

// The Leases of replicas gone for more than a minute are removed; a
// current one, and one that is not slipway's, stay.
func TestSweepLeases_RemovesOnlyTheGone(t *testing.T) {
	cs := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
	defer cancel()
	secs := int32(LeaseDuration / time.Second)
	lease := func(name string, renewed time.Time, managed bool) {
		t.Helper()
		at := metav1.NewMicroTime(renewed)
		l := &coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: coordv1.LeaseSpec{RenewTime: &at, LeaseDurationSeconds: &secs}}
		if managed {
			l.Labels = map[string]string{LabelManagedBy: ManagedBy}
		}
		if _, err := cs.CoordinationV1().Leases(testNS).Create(ctx, l, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	lease("slipway-router-gone", time.Now().Add(-5*time.Minute), true)
	lease("slipway-router-here", time.Now(), true)
	lease("slipway-router-late", time.Now().Add(-30*time.Second), true) // expired, but not for a minute
	lease("someone-elses", time.Now().Add(-time.Hour), false)

	s := New(Config{Client: cs.lean, Namespace: testNS}, releaser.Config{})
	s.sweepLeases(ctx)
	list, err := cs.CoordinationV1().Leases(testNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]bool{}
	for _, l := range list.Items {
		left[l.Name] = true
	}
	if left["slipway-router-gone"] || !left["slipway-router-here"] || !left["slipway-router-late"] || !left["someone-elses"] {
		t.Errorf("Leases left: %v; want all but slipway-router-gone", left)
	}
}
