package apps

import (
	"strings"
	"testing"
	"time"

	"github.com/slipway/slipway/builder"
	"github.com/slipway/slipway/releaser"
)

func TestPrune_KeepsLiveDrainingAndNewest(t *testing.T) {
	f := newFixture(t, releaser.Config{SessionTTL: 50 * time.Millisecond})
	for i := range 5 {
		f.push(appFiles(t), "v"+string(rune('1'+i)))
	}
	waitFor(t, "old releases to retire", func() bool { return strings.Count(f.statuses(), "retired") == 4 })
	var removed []string
	if err := f.svc.Prune(t.Context(), 2, func(dir string) error {
		removed = append(removed, dir)
		return builder.Remove(dir)
	}); err != nil {
		t.Fatal(err)
	}
	if len(removed) != 3 {
		t.Errorf("removed %d directories, want 3 (keep 2 of 5)", len(removed))
	}
	rels, _ := f.db.ListReleases(t.Context(), "app")
	for _, r := range rels {
		if want := r.Version <= 3; r.Pruned != want {
			t.Errorf("%s pruned = %v, want %v", r.Version, r.Pruned, want)
		}
	}
}
